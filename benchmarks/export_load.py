"""Does a visitor's font export slow the live demo? ``python -m benchmarks.export_load [--rounds 3]``.

Starts ``python app.py`` (as a Space runs it) and times /generate for new 8-character texts from
one client: alone, and while another client's 500-character export (/make_font) runs, with the
export worker at its lower CPU priority (shipped, ``GLYPH_EXPORT_NICE=10``) and at normal priority
(``GLYPH_EXPORT_NICE=0``). Prints a markdown table; rounds alternate the two priorities.
"""

from __future__ import annotations

import argparse
import statistics

from .measure import md_table
from .under_load import generate_timings


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.export_load", description=__doc__)
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args(argv)
    from unet.engine.charsets import gb2312_level1

    from .stylizer import TextPool, app_stylizer

    pool = TextPool(app_stylizer()[0])
    style = pool.st.styles[0]
    export_text = "".join(gb2312_level1()[1000:1500])
    cases = {"10": "during an export, export worker at nice 10 (shipped)",
             "0": "during an export, export worker at normal priority"}
    timings: dict[str, list[float]] = {"alone": [], **{label: [] for label in cases.values()}}
    export_s: dict[str, list[float]] = {label: [] for label in cases.values()}
    for _ in range(a.rounds):
        for nice, label in cases.items():
            alone, during, took = generate_timings(
                pool, lambda c: c.predict(export_text, style, "ttf", False, api_name="/make_font"),
                env={"GLYPH_EXPORT_NICE": nice})
            timings["alone"] += alone
            timings[label] += during
            export_s[label].append(took)
    alone = statistics.median(timings["alone"])
    rows = [[k, str(len(v)), f"{1e3 * statistics.median(v):.0f}", f"{statistics.median(v) / alone:.2f}×",
             f"{statistics.median(export_s[k]):.1f} s" if k in export_s else ""]
            for k, v in timings.items()]
    print("## /generate (8 new characters) while a 500-character font export runs\n")
    print(md_table(["case", "n", "p50 ms", "÷ alone", "export took (p50)"], rows))


if __name__ == "__main__":
    main()
