#!/usr/bin/env python3
"""Turns a raw results file of bench/run.sh (TARGET METRIC RUN VALUE, tab-separated) into the
Markdown tables of BENCHMARKS.md: the machine, every metric as min/median/max over the runs,
and each target's ratio computed per run (intake against the baseline of the same run)."""

import statistics
import sys
from collections import defaultdict

# (target, label, numerator metric, denominator metric or a constant, scale, bound, "<=" or ">=")
RATIOS = [
    ("1", "embedded ingest / dd conv=fsync", "intake_embedded_seconds", "dd_seconds", 1, 1.25, "<="),
    ("2", "scale-out ingest / dd conv=fsync", "intake_scaleout_seconds", "dd_seconds", 1, None, ""),
    ("2", "embedded ingest / scale-out ingest", "intake_embedded_seconds", "intake_scaleout_seconds", 1, 1.0, "<="),
    ("3", "complete->imported, big / small",
     "complete_to_imported_big_seconds", "complete_to_imported_small_seconds", 1, 1.5, "<="),
    ("4", "server peak RSS, big upload (MiB)", "peak_rss_big_kib", 1024.0, 1, 128, "<="),
    ("5", "POST /v1/uploads rps, intake / baseline", "intake_post_rps", "baseline_post_rps", 1, 0.25, ">="),
    ("5", "GET /v1/uploads/{id} rps, intake / baseline", "intake_get_rps", "baseline_get_rps", 1, 0.5, ">="),
    ("6", "URL import / curl -o", "intake_import_seconds", "curl_seconds", 1, 1.25, "<="),
    ("6", "URL import / (curl -o, then fsync)", "intake_import_seconds", "curl_fsync_seconds", 1, None, ""),
    ("7", "pickle reader / cat, 64 MiB of small opcodes", "pickle_small_seconds", "cat_small_seconds", 1, 30, "<="),
    ("7", "pickle reader / cat, 1 GiB pickle, one BINBYTES8 payload",
     "pickle_bulk_seconds", "cat_bulk_seconds", 1, 0.1, "<="),
    ("8", "project A's upload beside project B's noise / idle", "noisy_seconds", "idle_seconds", 1, 2.0, "<="),
    ("9", "thumbnail / plain decode, 24-MP JPEG", "thumbnail_photo_seconds", "decode_photo_seconds", 1, 1.5, "<="),
    ("9", "thumbnail / plain decode, 4K PNG", "thumbnail_frame_seconds", "decode_frame_seconds", 1, 1.5, "<="),
    ("9", "thumbnail peak RSS, 24-MP JPEG (MiB)", "thumbnail_photo_peak_rss_kib", 1024.0, 1, 256, "<="),
] + [
    row
    for backend, where in (("embedded", "local disk"), ("scaleout", "PostgreSQL + Garage"))
    for row in (
        ("11", f"10,000-part create, {where} (s)", f"parts_{backend}_create_seconds", 1.0, 1, 1.0, "<="),
        ("11", f"10,000-part GET while pending, {where} (s)", f"parts_{backend}_get_seconds", 1.0, 1, 1.0, "<="),
        ("11", f"complete, every part sent, {where} (s)", f"parts_{backend}_complete_seconds", 1.0, 1, 1.0, "<="),
        ("11", f"create, extra server RSS, {where} (MiB)", f"parts_{backend}_create_extra_rss_kib", 1024.0, 1, 64, "<="),
        ("11", f"GET, extra server RSS, {where} (MiB)", f"parts_{backend}_get_extra_rss_kib", 1024.0, 1, 64, "<="),
        ("11", f"complete, extra server RSS, {where} (MiB)", f"parts_{backend}_complete_extra_rss_kib", 1024.0, 1, 64, "<="),
        ("11", f"GET of 10,000 parts / GET of 1 part (medians), {where}",
         f"parts_{backend}_get_many_median_seconds", f"parts_{backend}_get_one_median_seconds", 1, None, ""),
    )
] + [
    ("12", "create/GET mix rps, two instances / one", "instances_two_rps", "instances_one_rps", 1, None, ""),
    ("12", "1 GiB through intake on Garage / straight to Garage",
     "instances_intake_upload_seconds", "instances_store_upload_seconds", 1, 1.15, "<="),
    ("13", "eight CLI uploads of 256 MiB at once / dd conv=fsync of 2 GiB",
     "clients_intake_seconds", "clients_dd_seconds", 1, 1.25, "<="),
]
# Target 10 (growth): the same measurement on the big seeded database over the small one,
# per engine, and the absolute bounds at the big size.
for _engine in ("sqlite", "postgres"):
    for _what, _label in (("post", "POST /v1/uploads"), ("get", "GET /v1/uploads/{id}"),
                          ("listFirst", "first list page"), ("listFailed", "?status=failed page"),
                          ("listDeep", "500th page by token")):
        RATIOS.append(("10", f"{_engine}: p99 {_label}, big / small",
                       f"{_engine}_big_{_what}_p99_ms", f"{_engine}_small_{_what}_p99_ms", 1, 1.5, "<="))
    RATIOS += [
        ("10", f"{_engine}: complete->imported 256 MiB, big / small", f"{_engine}_big_complete_to_imported_seconds",
         f"{_engine}_small_complete_to_imported_seconds", 1, 1.25, "<="),
        ("10", f"{_engine}: restart to /readyz at big (s)", f"{_engine}_big_restart_seconds", 1.0, 1, 5, "<="),
        ("10", f"{_engine}: idle CPU at big (% of a core)", f"{_engine}_big_idle_cpu_percent", 1.0, 1, 1, "<="),
        ("10", f"{_engine}: idle RSS at big (MiB)", f"{_engine}_big_idle_rss_kib", 1024.0, 1, 128, "<="),
        ("10", f"{_engine}: p99 GET /metrics at big (ms)", f"{_engine}_big_metrics_p99_ms", 1.0, 1, 20, "<="),
    ]


def fmt(value):
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3f}"


def main(path):
    machine = {}
    values = defaultdict(dict)  # metric -> run -> value
    targets = {}
    for line in open(path, encoding="utf-8"):
        parts = line.rstrip("\n").split("\t")
        if len(parts) != 4:
            continue
        target, metric, run, value = parts
        if target == "machine":
            machine[metric] = value
            continue
        try:
            values[metric][run] = float(value)
        except ValueError:
            continue
        targets[metric] = target

    # Derived: curl's download made as durable as intake's (intake fsyncs what it imports).
    for run, seconds in values.get("curl_seconds", {}).items():
        extra = values.get("curl_then_fsync_extra_seconds", {}).get(run)
        if extra is not None:
            values["curl_fsync_seconds"][run] = seconds + extra
            targets["curl_fsync_seconds"] = "6"

    print("Machine: " + ", ".join(f"{k} = {v}" for k, v in machine.items()))
    print()
    print("| target | ratio (per run) | min | median | max | bound | verdict (median) |")
    print("|---|---|---|---|---|---|---|")
    for target, label, num, den, _scale, bound, op in RATIOS:
        if num not in values:
            continue
        ratios = []
        for run, a in sorted(values[num].items()):
            b = den if isinstance(den, float) else values.get(den, {}).get(run)
            if b:
                ratios.append(a / b)
        if not ratios:
            continue
        med = statistics.median(ratios)
        verdict = ""
        if bound is not None:
            ok = med <= bound if op == "<=" else med >= bound
            worst = max(ratios) if op == "<=" else min(ratios)
            worst_ok = worst <= bound if op == "<=" else worst >= bound
            verdict = "meets" if ok else "MISSES"
            if ok and not worst_ok:
                verdict += " (not in every run)"
        bound_text = f"{op} {bound}" if bound is not None else "reported"
        print(f"| {target} | {label} | {fmt(min(ratios))} | {fmt(med)} | {fmt(max(ratios))} | {bound_text} | {verdict} |")
    print()
    print("| target | metric | runs | min | median | max |")
    print("|---|---|---|---|---|---|")
    for metric in sorted(values, key=lambda m: (targets[m], m)):
        if targets[metric] == "14":
            continue  # its own table, below
        runs = list(values[metric].values())
        print(f"| {targets[metric]} | {metric} | {len(runs)} | {fmt(min(runs))} | "
              f"{fmt(statistics.median(runs))} | {fmt(max(runs))} |")
    validate_reads(values, targets)


def mib(n):
    return f"{n / (1 << 20):,.1f} MiB" if n >= 1 << 20 else f"{n / 1024:,.1f} KiB"


def validate_reads(values, targets):
    """Target 14: one row per format family (its metrics `<family>_bytes_read`, `_reads`,
    `_size`, `_seconds`, `_cat_seconds`), in the order they ran."""
    families = [m[: -len("_bytes_read")] for m in values if m.endswith("_bytes_read") and targets[m] == "14"]
    if not families:
        return
    print()
    print("| family | size | bytes read | read / size | reads | validation s (min / median / max) "
          "| cat s (median) | validation MiB/s |")
    print("|---|---|---|---|---|---|---|---|")
    for f in families:
        size = statistics.median(values[f"{f}_size"].values())
        read = statistics.median(values[f"{f}_bytes_read"].values())
        reads = statistics.median(values[f"{f}_reads"].values())
        secs = sorted(values[f"{f}_seconds"].values())
        cat = statistics.median(values[f"{f}_cat_seconds"].values())
        med = statistics.median(secs)
        rate = f"{read / (1 << 20) / med:,.0f}" if med > 0 and read > size / 2 else ""
        print(f"| {f} | {mib(size)} | {read:,.0f} | {read / size:.2e} | {reads:,.0f} | "
              f"{secs[0]:.4f} / {med:.4f} / {secs[-1]:.4f} | {cat:.3f} | {rate} |")


if __name__ == "__main__":
    main(sys.argv[1])
