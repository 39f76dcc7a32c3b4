"""Table 4: the Gradio API end-to-end (``/generate``, ``/toggle``, ``/query_point``) via
``gradio_client``, against ``python app.py`` in a subprocess (``tools.stress.Server``)."""

from __future__ import annotations

import time

import torch

from unet import Stylizer

from . import measure as m
from .stylizer import BARE, TEXT8, TextPool, bare_forward

GENERATE, TOGGLE, QUERY = "/generate", "/toggle (16x16 off)", "/query_point"
TOGGLE_LATER = "/toggle (16x16 off), 1 s after its /generate"
BARE1 = "bare forward, 1 intra-op thread"
THINK_S = 1.0  # a visitor looks at the glyphs before unticking a layer
NO_DOWNLOAD = ", download_files=False"


def api_args(st: Stylizer, layers: list[str], text: str = TEXT8) -> tuple:
    """The inputs of /generate and /toggle: text, style, blend, blend weight, layers left on."""
    return (text, st.styles[0], "(none)", 0.5, layers)


def table_gradio(rep: m.Report, quick: bool, st: Stylizer, server, startup_s: float) -> dict:
    from gradio_client import Client

    all_on, one_off = st.layer_names, st.layer_names[:1]
    rounds = 10 if not quick else 2
    bare = bare_forward(st)
    # the default behaviour: result files are downloaded (here into the server's temporary dir)
    c_dl = Client(server.url, verbose=False, download_files=str(server.root / "client"))
    c_nodl = Client(server.url, verbose=False, download_files=False)
    pool = TextPool(st)
    cur = {}  # this round's texts: a new one per client, so each /generate is a first request

    def api(client, key, layers, endpoint, *extra):
        return lambda: client.predict(*api_args(st, layers, cur[key]), *extra, api_name=endpoint)

    calls = {
        BARE: bare(),
        BARE1: bare(1),
        GENERATE: api(c_dl, "dl", all_on, "/generate"),
        TOGGLE: api(c_dl, "dl", one_off, "/toggle"),
        QUERY: api(c_dl, "dl", all_on, "/query_point", 0, 64.0, 64.0),
        GENERATE + NO_DOWNLOAD: api(c_nodl, "nodl", all_on, "/generate"),
        TOGGLE + NO_DOWNLOAD: api(c_nodl, "nodl", one_off, "/toggle"),
    }
    load0, t_table = m.loadavg(), time.perf_counter()
    cur.update(dl=pool.take(), nodl=pool.take())
    for fn in calls.values():  # warm-up: caches, first PNG encodes, HTTP connections
        fn()
    samples = {k: [] for k in (*calls, TOGGLE_LATER)}
    for _ in range(rounds):
        cur.update(dl=pool.take(), nodl=pool.take(), later=pool.take())
        for k, fn in calls.items():  # bare, then generate -> toggle -> query as a user would
            samples[k].append(m.timed(fn))
        api(c_dl, "later", all_on, "/generate")()
        time.sleep(THINK_S)
        samples[TOGGLE_LATER].append(m.timed(api(c_dl, "later", one_off, "/toggle")))
    targets = {GENERATE: m.TARGET_GENERATE_MS, TOGGLE: m.TARGET_TOGGLE_MS, QUERY: m.TARGET_QUERY_MS,
               GENERATE + NO_DOWNLOAD: m.TARGET_GENERATE_MS, TOGGLE + NO_DOWNLOAD: m.TARGET_TOGGLE_MS,
               TOGGLE_LATER: m.TARGET_TOGGLE_MS}
    # issue 13's targets, as multiples of the bare forward the app runs (1 intra-op thread)
    ratio_targets = {GENERATE: 2.0, GENERATE + NO_DOWNLOAD: 2.0, TOGGLE: 1.0, TOGGLE + NO_DOWNLOAD: 1.0,
                     TOGGLE_LATER: 1.0, QUERY: None}
    bare_p50 = m.p50(samples[BARE1])
    rows = []
    for k, smp in samples.items():
        r = m.p50(smp) / bare_p50
        t = targets.get(k)
        rt = ratio_targets.get(k)
        rows.append([k, m.ms(m.p50(smp)), m.ms(m.p95(smp)), len(smp), f"{r:.2f}×",
                     f"p50 ≤ {t} ms: {m.verdict(m.p50(smp) * 1e3 <= t)}"
                     + (f"; ≤ {rt:g}× bare: {m.verdict(r <= rt)}" if rt else "") if t else ""])
    header = ["endpoint (gradio_client, one session)", "p50 ms", "p95 ms", "n",
              "÷ bare forward (1 thread, as app.py)", "targets"]
    rep.add("## 4. Gradio API end-to-end, 8 characters\n\n" + m.md_table(header, rows) + (
        f"\n\nThe app runs as `python app.py` in a subprocess (started in {startup_s:.1f} s); the "
        "client is in the benchmark process on the same 2 cores. Each round times the bare forward "
        "(8 pre-rendered glyphs, in the benchmark process while the server idles, with this "
        f"process's {torch.get_num_threads()} intra-op threads and with 1; '÷ bare' uses the 1-thread "
        "forward, which is how app.py runs it), then /generate (all layers on), /toggle (first layer "
        "off, sent as soon as the /generate answered), /query_point; and per round one more text: "
        f"/generate, {THINK_S:g} s of a visitor looking, then the timed /toggle. The app sends the "
        "sheet inside the response (a PNG data URI) and the attention panel as numbers, so there are no "
        "files for `gradio_client` to download; the download_files=False rows are kept to show that. "
        "Every round uses new 8-character texts (one per client), so no timed /generate can be served "
        "from a cache of finished generations; after a /generate the app's speculator computes the other "
        "layer combinations of that text while no request runs, so a /toggle may be answered from its "
        "cache, as for a visitor. /query_point asks about the text that the round's /generate just made, "
        "as a click would, and reads the kept generation; in the UI the page computes a click's maps "
        "itself from q and k (the same work on the server: the query_maps row of table 3). "
        f"{m.load_note(load0)}"), 4, t_table)
    return {k: (m.p50(v), m.p95(v)) for k, v in samples.items()}


def summary_rows(results: dict) -> list[list[str]]:
    """Table 4's lines of the targets at a glance."""
    rows = []
    for key, target, what in ((GENERATE, m.TARGET_GENERATE_MS, "8-char generate with maps, end-to-end"),
                              (TOGGLE, m.TARGET_TOGGLE_MS, "toggle a layer, end-to-end"),
                              (QUERY, m.TARGET_QUERY_MS, "query point via the API")):
        nodl = results.get(key + NO_DOWNLOAD)
        got = f"{m.ms(results[key][0])} ms" + (f" ({m.ms(nodl[0])} ms without file downloads)" if nodl else "")
        rows.append([what, f"p50 ≤ {target} ms", got, m.verdict(results[key][0] * 1e3 <= target), "table 4"])
    bare = results[BARE1][0]
    e2e = results[GENERATE][0] / bare
    nodl = results[GENERATE + NO_DOWNLOAD][0] / bare
    rows.append(["/generate with file downloads ÷ bare forward", f"≤ {m.TARGET_E2E_RATIO:.0f}×",
                 f"{e2e:.2f}× ({nodl:.2f}× without downloads; bare, 1 thread: {m.ms(bare)} ms)",
                 m.verdict(e2e <= m.TARGET_E2E_RATIO), "table 4"])
    for key in (TOGGLE_LATER, TOGGLE):
        r = results[key][0] / bare
        rows.append([f"{key} ÷ bare forward", "≤ 1×", f"{r:.2f}×", m.verdict(r <= 1.0), "table 4"])
    return rows
