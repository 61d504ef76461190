"""Putting the model in production.

Load the trained model once on the CPU, time one prediction, then serve it as a web app with
sgdlab bears serve: start the server, ask it from Python with httpx, and stop it.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import matplotlib.pyplot as plt

import sgdlab
from sgdlab.teach import show, step
from sgdlab.vision.checkpoint import load_learner
from sgdlab.vision.lesson_config import lesson_config, stage_one

# %%
step("The model, loaded once", """
    In production nothing trains. We need the weights and what training decided (the class
    names in order, the image size, the normalization), all stored in the checkpoint, and
    load_learner rebuilds the model from that file alone, on the CPU. We take the model that
    `sgdlab bears train` saved (models/bears.pth) or lesson 9's or 8's, when one is in the
    work folder's models/ (the project folder, or SGDLAB_WORKDIR); otherwise we train one now
    with lesson 8's recipe.
""")
config = lesson_config()
classes, train, valid = config.split()
saved = next(filter(None, (config.checkpoint(name) for name in
                           ("bears", "bears-stage-2", "bears-stage-1"))), None)
if saved is None:
    saved, _ = stage_one(config, config.learner(config.loaders()))
    print(f"trained and saved {saved}")
learn = load_learner(saved, device="cpu")
print(f"loaded {saved}: {learn}")

# %%
step("One prediction on a CPU", """
    The lecture's figure: on a CPU one photo takes about 0.2 seconds rather than 0.01 on a
    GPU, and for a web app that is fine: a person waits longer for the upload. The first call
    is slower (PyTorch sets itself up), so we time a few and keep the median.
""")
photo = valid[0]
name, index, probs = learn.predict(photo)
times = []
for _ in range(5):
    start = time.perf_counter()
    learn.predict(photo)
    times.append(time.perf_counter() - start)
per_photo_ms = sorted(times)[len(times) // 2] * 1000
print(f"{photo.relative_to(config.bears).as_posix()}: {name} (index {index})")
print(f"one prediction at {learn.size} px on the CPU: {per_photo_ms:.1f} ms (median of 5)")

# %%
step("Why not call predict inside the web route?", """
    The course's starter app does: its async route calls predict directly. While one photo
    is being classified the event loop can do nothing else, not even answer "are you alive?",
    so ten visitors wait in a line nobody can see. It has no size limit (a 2 GB upload fills
    the memory) and a text file sent as a photo crashes the request with a traceback.

    sgdlab bears serve keeps the route small: it reads the upload (at most 10 MB), hands the
    decoding and the forward pass to a worker thread under torch.inference_mode(), and awaits
    the answer. At most 16 predictions wait at once; one more gets 503 "busy, retry after 1
    s" instead of an ever longer queue. A picture of more than 40 million pixels is refused
    before it is decoded, and every bad input is a JSON error that says what to do.
""")

# %%
step("Start the server", """
    The same command you would type in a terminal, here in a child process on 127.0.0.1 (this
    machine only) at a free port:

        sgdlab bears serve --model models/bears.pth --port 8000

    It loads the model once, then serves the page at / and the JSON API. We wait until
    /healthz answers.
""")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


port = free_port()
base = f"http://127.0.0.1:{port}"
# the child runs the very sgdlab this lesson imported
env = {**os.environ, "PYTHONPATH": os.pathsep.join(
    filter(None, [str(Path(sgdlab.__file__).resolve().parents[1]), os.environ.get("PYTHONPATH")]))}
server = subprocess.Popen([sys.executable, "-m", "sgdlab.cli", "bears", "serve", "--model",
                           str(saved), "--port", str(port)], env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
client = httpx.Client(base_url=base, timeout=30, trust_env=False)


def stop_server() -> int:
    """Stop the server by its process id (what Ctrl-C does in its terminal)."""
    client.close()
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    server.stderr.close()
    return server.returncode


def wait_until_serving(timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"the server stopped at start-up:\n{server.stderr.read()}")
        try:
            if client.get("/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the server did not answer /healthz within {timeout:g} s")
        time.sleep(0.2)


try:
    wait_until_serving()
except BaseException:
    stop_server()
    raise
print(f"the server answers at {base}/ (open it in a browser to try the page)")
print("GET /api/model:", client.get("/api/model").json())

# %%
step("Ask it from Python", """
    POST /api/predict takes the photo as the multipart field "file" (as a browser's form
    sends it) and answers JSON: the class, its index, the probability of every class, the
    model, and how many milliseconds the prediction took in the worker. The answer is
    exactly what learn.predict says about the same file. A file that is not a photo gets an
    error a person can act on, and the server goes on serving.
""")
try:
    answer = client.post("/api/predict",
                         files={"file": (photo.name, photo.read_bytes())}).json()
    print("POST /api/predict:", answer)
    same = answer["class"] == name and all(
        abs(answer["probabilities"][c] - p) < 1e-6
        for c, p in zip(learn.classes, probs.tolist(), strict=True))
    print(f"the same as learn.predict: {same}")
    refused = client.post("/api/predict", files={"file": ("notes.txt", b"not a bear")})
    print(f"a text file: HTTP {refused.status_code}: {refused.json()['error']}")
    print("still serving:", client.get("/healthz").json())
    round_trip_ms = []
    for _ in range(5):
        start = time.perf_counter()
        client.post("/api/predict", files={"file": (photo.name, photo.read_bytes())})
        round_trip_ms.append((time.perf_counter() - start) * 1000)
except BaseException:
    stop_server()
    raise
http_ms = sorted(round_trip_ms)[2]
print(f"over HTTP: {http_ms:.1f} ms per photo (median of 5), against {per_photo_ms:.1f} ms "
      f"for learn.predict in this process")
fig, ax = plt.subplots(figsize=(5, 2.5))
ax.barh(answer["classes"], [answer["probabilities"][c] for c in answer["classes"]],
        color="#8a5a2b")
ax.set_xlim(0, 1)
ax.set_xlabel("probability")
ax.set_title(f"the server's answer for {photo.name}: {answer['class']}")
fig.tight_layout()
show(fig, "server_answer")

# %%
step("Stop it", """
    The server is a process like any other: stop it by its process id (Ctrl-C in the
    terminal where it runs). uvicorn finishes the requests in flight and exits.
""")
exit_code = stop_server()
# uvicorn shuts down cleanly, then ends with the signal it was sent, as a process should
how = "by SIGTERM" if exit_code == -signal.SIGTERM else f"with exit code {exit_code}"
print(f"server stopped {how}")
