"""The bear classifier as a web app: ``sgdlab bears serve`` (see :mod:`sgdlab.vision.cli_serve`).

One module per job, each importable without the others:

    errors      RequestError: what went wrong with one request, its HTTP status, what to do
    uploads     bytes -> an upright RGB picture: size and pixel limits, formats, modes
    runner      BoundedRunner: work off the event loop, a bounded number in flight (else 503)
    batching    BatchingRunner: the micro-batching option (requests within a window, one pass)
    predicting  one picture -> the JSON answer (class, probabilities, milliseconds)
    fetching    /api/predict-url's download, through the downloader's guarded fetch
    app         make_app(predictor, ...): the Starlette routes and the JSON errors
    page.html   the page at ``/``: one self-contained file (no CDN, works offline)

Starlette, uvicorn, python-multipart and httpx come with the ``web`` extra; this package is
imported only by the ``serve`` command and the tests, never by the rest of sgdlab.
"""
