"""pyActigraphy's own sleep detection on the example recordings it ships.

For every `pyActigraphy/tests/data/example_0*.AWD` in the installed package (the
`*_mask.AWD` variant excepted), this writes into OUT_DIR:

* `<name>_counts.csv`: `timestamp,activity`, one row per 1-minute epoch, as read by
  pyActigraphy's own AWD reader;
* `<name>_pyactigraphy_sleep.csv`: `onset,offset` of the main sleep of each night;
* `<name>_pyactigraphy_timing.csv`: `run,ms`, wall-clock time of each detection run;
* `pyactigraphy_version.txt`: the package version and the algorithm with its parameters.

Timestamps are the recording's own clock (AWD files have no zone), written with a `Z`
suffix: both sides read them as UTC, so there is no DST shift to get wrong.

Detection: `raw.Roenneberg()` with its defaults, i.e. the Munich Actimetry Sleep
Detection Algorithm (Roenneberg et al. 2015, Methods Enzymol 552:257-283; validated by
Loock et al. 2021, J Sleep Res 30:e13371). It is chosen because it is the detection
pyActigraphy offers that yields consolidated sleep bouts with a sleep onset and a sleep
offset (Crespo finds rest/activity periods, Sadeh and Cole-Kripke only score epochs),
and because it comes from the group that defined MSF/MSFsc, the chronotype measure the
engine computes. Its epochs are 1 minute here (`rsfreq=None`), the same epochs the
engine scores.

Main sleep per night: bouts are assigned to the sleep day running from local noon to
noon in which they start; the main sleep is the longest bout starting between 18:00
and 06:00, which is the engine's own rule (`msf::sleep_days`). Nights that are not
covered by the recording from 18:00 to 12:00 (the first and last, when cut) are left
out.

Usage: python pyactigraphy_detection.py OUT_DIR [RUNS]
"""

import datetime as dt
import pathlib
import statistics
import sys
import sysconfig
import time

import pandas as pd
import pyActigraphy

ROENNEBERG_PARAMS = dict(
    trend_period="24h",
    min_trend_period="12h",
    threshold=0.15,
    min_seed_period="30Min",
    max_test_period="12h",
    r_consec_below="30Min",
    rsfreq=None,
)

EVENING = dt.time(18, 0)
MORNING = dt.time(6, 0)
NOON = dt.timedelta(hours=12)


def iso(t: pd.Timestamp) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def bouts(scores: pd.Series):
    """(onset, offset) of each run of 1 (rest) in the Roenneberg series; offset is the
    end of the last rest epoch."""
    step = scores.index.freq or pd.Timedelta(minutes=1)
    values = scores.fillna(0).astype(int).values
    index = scores.index
    out = []
    start = None
    for i, v in enumerate(values):
        if v == 1 and start is None:
            start = i
        elif v != 1 and start is not None:
            out.append((index[start], index[i - 1] + step))
            start = None
    if start is not None:
        out.append((index[start], index[-1] + step))
    return out


def main_sleeps(all_bouts, first: pd.Timestamp, end: pd.Timestamp):
    """Longest bout starting 18:00-06:00 per noon-to-noon sleep day fully recorded
    from 18:00 to 12:00."""
    days = {}
    for onset, offset in all_bouts:
        t = onset.time()
        if not (t >= EVENING or t < MORNING):
            continue
        day = (onset - NOON).date()
        evening = pd.Timestamp(dt.datetime.combine(day, EVENING))
        morning = evening + pd.Timedelta(hours=18)
        if evening < first or morning > end:
            continue
        best = days.get(day)
        if best is None or offset - onset > best[1] - best[0]:
            days[day] = (onset, offset)
    return [days[d] for d in sorted(days)]


def main() -> int:
    out = pathlib.Path(sys.argv[1])
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    out.mkdir(parents=True, exist_ok=True)
    data_dir = pathlib.Path(sysconfig.get_paths()["purelib"]) / "pyActigraphy" / "tests" / "data"
    files = sorted(p for p in data_dir.glob("example_0*.AWD") if "mask" not in p.name)
    if not files:
        print(f"no example recordings under {data_dir}", file=sys.stderr)
        return 1
    (out / "pyactigraphy_version.txt").write_text(
        f"pyActigraphy {pyActigraphy.__version__}\n"
        f"algorithm Roenneberg {ROENNEBERG_PARAMS}\n",
        encoding="utf-8",
    )
    for path in files:
        name = path.stem
        raw = pyActigraphy.io.read_raw_awd(str(path))
        if raw.frequency != pd.Timedelta(minutes=1):
            print(f"{name}: epoch {raw.frequency} is not 1 minute, skipped", file=sys.stderr)
            continue
        counts = raw.data
        with (out / f"{name}_counts.csv").open("w", encoding="utf-8") as f:
            f.write("timestamp,activity\n")
            for t, a in counts.items():
                f.write(f"{iso(t)},{a:g}\n")

        times = []
        scores = None
        for _ in range(runs):
            t0 = time.perf_counter()
            scores = raw.Roenneberg(**ROENNEBERG_PARAMS)
            times.append((time.perf_counter() - t0) * 1000.0)
        step = counts.index.freq or pd.Timedelta(minutes=1)
        nights = main_sleeps(bouts(scores), counts.index[0], counts.index[-1] + step)
        with (out / f"{name}_pyactigraphy_sleep.csv").open("w", encoding="utf-8") as f:
            f.write("onset,offset\n")
            for onset, offset in nights:
                f.write(f"{iso(onset)},{iso(offset)}\n")
        with (out / f"{name}_pyactigraphy_timing.csv").open("w", encoding="utf-8") as f:
            f.write("run,ms\n")
            for i, ms in enumerate(times):
                f.write(f"{i},{ms:.3f}\n")
        print(
            f"{name}: {len(counts)} epochs, {len(nights)} nights, "
            f"Roenneberg median {statistics.median(times):.1f} ms over {runs} run(s)",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
