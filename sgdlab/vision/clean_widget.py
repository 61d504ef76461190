"""``ImageCleaner(cleaner)``: the cleaning session as an ipywidgets 8 grid in a notebook.

    from sgdlab.vision.cleaner import Cleaner
    from sgdlab.vision.clean_widget import ImageCleaner
    ImageCleaner(Cleaner(learn, "bears"))        # the last line of a cell shows it

It works wherever ipywidgets 8 renders (JupyterLab, Notebook 7, VS Code). The grid shows one
page of photos, largest loss first: a thumbnail, the file name, the label, the prediction, the
probability of the label, the loss, and a note on training photos (the model saw them, so their
losses are lower). Each photo has a keep / delete / relabel menu; filters pick the class, the
split and wrong / unsure photos; page buttons, the counts, Apply and Undo sit above the grid.

The widget only shows a :class:`~sgdlab.vision.clean_view.CleanView` and sends it events: every
menu change is written to the cleaner's journal at once, so switching class, split or page, or
restarting the kernel, loses nothing; a new ``ImageCleaner`` on the same folder shows the earlier
decisions. Apply moves photos into the quarantine or their new class folder (nothing is ever
deleted); Undo puts the last applied batch back. ipywidgets comes with the ``notebook`` extra.
"""

from __future__ import annotations

import html
from typing import Any

from sgdlab.checks import check_whole_number
from sgdlab.errors import SgdlabError
from sgdlab.vision.clean_view import ALL, Card, CleanView
from sgdlab.vision.cleaner import SEEN_NOTE, WHICH, Cleaner


class NotebookExtraMissingError(SgdlabError):
    """ipywidgets is not installed."""


try:
    import ipywidgets as widgets
except ImportError as err:  # pragma: no cover - the message is tested by hiding the module
    raise NotebookExtraMissingError(
        "the ImageCleaner widget needs ipywidgets 8, which is not installed; run "
        "pip install -e '.[notebook]' in the repository (the README's first command does it), "
        "or clean from a terminal with `sgdlab bears clean --list 20`") from err

CARD_WIDTH = "190px"


def card_text(card: Card) -> str:
    """The HTML under a photo's thumbnail: name, label, prediction, probability, loss, notes."""
    r = card.row
    wrong = ' style="color:#b00"' if r.wrong else ""
    lines = [f"<b>{html.escape(r.path)}</b>",
             f"label {html.escape(r.label)} · predicted <span{wrong}>"
             f"{html.escape(r.prediction)}</span>",
             f"p({html.escape(r.label)}) = {r.probability:.2f} · loss {r.loss:.2f}",
             f"{r.split}" + (" · <i>seen in training</i>" if card.seen_in_training else "")]
    if card.moved_to is not None:
        lines.append(f"<i>moved to {html.escape(card.moved_to)}; Undo puts it back</i>")
    return "<div style='font-size:12px;line-height:1.3'>" + "<br>".join(lines) + "</div>"


class ImageCleaner(widgets.VBox):
    """The cleaning grid of ``cleaner``: ``per_page`` photos a page, ``columns`` across.

    Attributes (the controls a test or a script can drive):
        class_filter, split_filter, which_filter: the filters (``"all"`` or a value).
        previous_button, next_button: the page buttons; page_label says which page.
        apply_button, undo_button: carry out the pending decisions / put back the last batch.
        counts_label: how many photos are shown and what is pending and applied.
        message: what the last action did, or what went wrong and what to do.
        choices: the keep / delete / relabel menu of each photo on the page, by path.
    """

    def __init__(self, cleaner: Cleaner, per_page: int = 12, columns: int = 4,
                 **kwargs: Any) -> None:
        self.view = CleanView(cleaner, per_page=per_page)
        columns = check_whole_number(columns, "columns", minimum=1, hint="e.g. 4 photos across")
        self._quiet = False
        self.choices: dict[str, widgets.Dropdown] = {}
        options = [ALL, *cleaner.classes]
        self.class_filter = widgets.Dropdown(options=options, value=ALL, description="class")
        self.split_filter = widgets.Dropdown(options=[ALL, "train", "valid"], value=ALL,
                                             description="split")
        self.which_filter = widgets.Dropdown(options=list(WHICH), value=ALL,
                                             description="photos")
        for control in (self.class_filter, self.split_filter, self.which_filter):
            control.observe(self._on_filter, names="value")
        self.previous_button = widgets.Button(description="◀ previous")
        self.next_button = widgets.Button(description="next ▶")
        self.page_label = widgets.Label()
        self.previous_button.on_click(lambda _: self._turn(-1))
        self.next_button.on_click(lambda _: self._turn(+1))
        self.apply_button = widgets.Button(description="Apply", button_style="danger",
                                           tooltip="move deleted photos into the quarantine "
                                                   "and relabelled ones into their class")
        self.undo_button = widgets.Button(description="Undo", button_style="warning",
                                          tooltip="put back the last applied batch")
        self.apply_button.on_click(lambda _: self._apply())
        self.undo_button.on_click(lambda _: self._undo())
        self.counts_label = widgets.Label()
        self.message = widgets.HTML()
        self.grid = widgets.GridBox(layout=widgets.Layout(
            grid_template_columns=f"repeat({columns}, {CARD_WIDTH})", grid_gap="8px"))
        note = widgets.HTML(f"<i>Loss = −log p(label), largest first. Note: "
                            f"{html.escape(SEEN_NOTE)}.</i>")
        super().__init__([
            widgets.HBox([self.class_filter, self.split_filter, self.which_filter]),
            note,
            widgets.HBox([self.previous_button, self.page_label, self.next_button,
                          self.apply_button, self.undo_button]),
            self.counts_label, self.message, self.grid], **kwargs)
        self.refresh()

    # ------------------------------------------------------------------ drawing
    def refresh(self) -> None:
        """Draw the current page, the page label and the counts again from the session."""
        for old in self.grid.children:
            old.close()
        self.choices = {}
        cards = [self._card(card) for card in self.view.cards()]
        self.grid.children = cards
        self.page_label.value = f"page {self.view.page + 1} of {self.view.pages}"
        self.previous_button.disabled = self.view.page == 0
        self.next_button.disabled = self.view.page >= self.view.pages - 1
        self.counts_label.value = self.view.counts().text()

    def _card(self, card: Card) -> widgets.VBox:
        path = card.row.path
        try:
            picture: widgets.Widget = widgets.Image(value=self.view.thumbnail(path),
                                                    format="jpeg", width=160)
        except SgdlabError as err:
            picture = widgets.HTML(f"<i>cannot show: {html.escape(str(err))}</i>")
        menu = widgets.Dropdown(options=list(card.options), value=card.choice,
                                disabled=card.moved_to is not None,
                                layout=widgets.Layout(width="170px"))
        menu.observe(lambda change, path=path: self._on_choice(path, change), names="value")
        self.choices[path] = menu
        border = "2px solid #b00" if card.choice != "keep" else "1px solid #ccc"
        return widgets.VBox([picture, widgets.HTML(card_text(card)), menu],
                            layout=widgets.Layout(width=CARD_WIDTH, border=border,
                                                  padding="4px"))

    def _say(self, text: str, error: bool = False) -> None:
        colour = "#b00" if error else "#060"
        self.message.value = f"<span style='color:{colour}'>{html.escape(text)}</span>"

    # ------------------------------------------------------------------ events
    def _on_choice(self, path: str, change: dict) -> None:
        if self._quiet:
            return
        try:
            self.view.choose(path, change["new"])
        except SgdlabError as err:
            self._say(str(err), error=True)
            self._quiet = True
            try:
                change["owner"].value = change["old"]
            finally:
                self._quiet = False
            return
        self._say(f"{path}: {change['new'].replace(':', ' as ')} (saved in the journal)")
        self.refresh()

    def _on_filter(self, _change: dict) -> None:
        try:
            self.view.set_filters(self.class_filter.value, self.split_filter.value,
                                  self.which_filter.value)
        except SgdlabError as err:
            self._say(str(err), error=True)
        self.refresh()

    def _turn(self, by: int) -> None:
        self.view.go(max(0, self.view.page + by))
        self.refresh()

    def _apply(self) -> None:
        try:
            moves = self.view.apply()
        except SgdlabError as err:
            self._say(str(err), error=True)
        else:
            self._say(f"applied {len(moves)} decision(s); Undo puts them back" if moves
                      else "nothing to apply: no delete or relabel is pending")
        self.refresh()

    def _undo(self) -> None:
        try:
            moves = self.view.undo()
        except SgdlabError as err:
            self._say(str(err), error=True)
        else:
            self._say(f"put back {len(moves)} photo(s); their decisions are pending again")
        self.refresh()
