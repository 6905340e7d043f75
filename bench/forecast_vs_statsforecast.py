"""Runs Sprout's forecaster (through the `compare` example of crates/forecast)
and statsforecast's AutoETS, MSTL and SeasonalNaive over the same
rolling-origin protocol on the same hourly series, scores every forecast with
the same code, and prints MAE, MASE, interval coverage and time side by side.

Called by bench/forecast_vs_statsforecast.sh, which builds the example, writes
the series and provides the virtual environment.
"""

import argparse
import json
import logging
import os
import statistics
import subprocess
import sys
import time
import warnings

warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)
os.environ.setdefault("NIXTLA_ID_AS_COL", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import statsforecast  # noqa: E402
from statsforecast import StatsForecast  # noqa: E402
from statsforecast.models import MSTL, AutoETS, SeasonalNaive  # noqa: E402

SEASON = 24
WEEK = 168
SPEEDUP_AIM = 20.0
SINGLE_AIM_MS = 5.0


def hourly_from_minutes(src, dst):
    """Resamples `timestamp,activity` minute counts to the hourly mean count
    per minute; hours without any minute are filled by linear interpolation
    and flagged."""
    df = pd.read_csv(src, parse_dates=["timestamp"])
    s = df.set_index("timestamp")["activity"].astype(float).resample("h").mean()
    filled = s.isna()
    s = s.interpolate(limit_direction="both")
    out = pd.DataFrame({
        "timestamp": s.index.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "value": s.round(6).to_numpy(),
        "filled": filled.astype(int).to_numpy(),
    })
    out.to_csv(dst, index=False)
    return len(out), int(filled.sum())


def sn_scale(y):
    """In-sample MAE of the seasonal naive forecast (period 24): the MASE scale."""
    return float(np.mean(np.abs(y[SEASON:] - y[:-SEASON])))


def origins_of(n, count, horizon, stride):
    first = n - (count - 1) * stride - horizon
    return [first + k * stride for k in range(count)]


def score(y, filled, fcs, horizon):
    """fcs: list of (origin, mean, lower, upper). MAE and coverage over all
    scored (not filled) steps; MASE is the mean over origins of each origin's
    MAE divided by the seasonal-naive scale of its own training window."""
    abs_err, hits, mases = [], [], []
    for o, mean, lower, upper in fcs:
        actual = y[o:o + horizon]
        keep = ~filled[o:o + horizon]
        err = np.abs(actual - mean)[keep]
        abs_err.extend(err)
        hits.extend(((actual >= lower) & (actual <= upper))[keep])
        mases.append(err.mean() / sn_scale(y[:o]))
    return float(np.mean(abs_err)), float(np.mean(mases)), float(np.mean(hits))


def sprout(binary, *args):
    out = subprocess.run([binary, *map(str, args)], check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def sf_models(train_len):
    """statsforecast models; MSTL gets the weekly period only when the
    training window holds two weeks (as Sprout's MSTL does)."""
    mstl_periods = [SEASON, WEEK] if train_len >= 2 * WEEK else [SEASON]
    return [
        ("AutoETS", lambda: AutoETS(season_length=SEASON)),
        (f"MSTL{mstl_periods}", lambda: MSTL(season_length=mstl_periods)),
        ("SeasonalNaive", lambda: SeasonalNaive(season_length=SEASON)),
    ]


def sf_forecast(times, y, o, make, horizon, level):
    train = pd.DataFrame({"unique_id": "s", "ds": times[:o], "y": y[:o]})
    model = make()
    sf = StatsForecast(models=[model], freq="h", n_jobs=1)
    t0 = time.perf_counter()
    fc = sf.forecast(df=train, h=horizon, level=[level])
    ms = (time.perf_counter() - t0) * 1e3
    name = str(model)
    cols = [c for c in fc.columns if c not in ("unique_id", "ds")]
    mean_col = [c for c in cols if "-lo-" not in c and "-hi-" not in c][0]
    lo = fc[f"{mean_col}-lo-{level}"].to_numpy()
    hi = fc[f"{mean_col}-hi-{level}"].to_numpy()
    return fc[mean_col].to_numpy(), lo, hi, ms, name


def sf_core_ms(y, o, make, horizon, level, reps):
    """Median time of the model's own `forecast` on a NumPy array (no data
    frame handling): statsforecast's engine without its front end."""
    times = []
    for _ in range(reps):
        model = make()
        t0 = time.perf_counter()
        model.forecast(y=y[:o].astype(np.float64), h=horizon, level=[level])
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def warm_up(times, y, level):
    """statsforecast compiles its numba kernels on first use: run every model
    once on a short piece of the series before anything is timed."""
    t0 = time.perf_counter()
    for n in (3 * WEEK, 2 * WEEK - 1):
        for _, make in sf_models(n):
            sf_forecast(times, y, n, make, SEASON, level)
            sf_core_ms(y, n, make, SEASON, level, 1)
    return (time.perf_counter() - t0) * 1e3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--compare", required=True, help="the built compare example")
    ap.add_argument("--sim", required=True, help="hourly csv: timestamp,value,filled")
    ap.add_argument("--actigraphy-minutes", required=True, help="minute csv: timestamp,activity")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--origins", type=int, default=10)
    ap.add_argument("--horizon", type=int, default=24)
    ap.add_argument("--stride", type=int, default=24)
    ap.add_argument("--level", type=int, default=80)
    ap.add_argument("--sprout-reps", type=int, default=5)
    ap.add_argument("--sf-reps", type=int, default=3)
    a = ap.parse_args()

    print(f"statsforecast {statsforecast.__version__}, numpy {np.__version__}, pandas {pd.__version__}, "
          f"Python {sys.version.split()[0]}")
    acti = os.path.join(a.workdir, "actigraphy_hourly.csv")
    steps, nfilled = hourly_from_minutes(a.actigraphy_minutes, acti)
    print(f"actigraphy: {a.actigraphy_minutes} -> {acti} ({steps} hourly steps, mean count per minute, "
          f"{nfilled} empty hours interpolated)")
    series = [
        # name, path, Sprout's clamp (stress lives in [0, 1]; counts are >= 0)
        ("sim stress (60 d)", a.sim, ["--lower", 0, "--upper", 1]),
        ("actigraphy (21 d)", acti, ["--lower", 0]),
    ]
    protocol = (f"{a.origins} origins, horizon {a.horizon}, stride {a.stride}, "
                f"{a.level}% intervals; each origin refits on all history before it")
    print(f"protocol: {protocol}")

    rows, speed = [], {}
    warmed = False
    for label, path, bounds in series:
        df = pd.read_csv(path)
        times = pd.to_datetime(df["timestamp"]).dt.tz_localize(None).to_numpy()
        y = df["value"].to_numpy(float)
        filled = df["filled"].to_numpy().astype(bool)
        origins = origins_of(len(y), a.origins, a.horizon, a.stride)
        print(f"\n{label}: {path}, {len(y)} steps, origins at steps {origins[0]}..{origins[-1]}", flush=True)
        if not warmed:
            ms = warm_up(times, y, a.level)
            print(f"  statsforecast warm-up (numba JIT compilation, not timed): {ms / 1e3:.1f} s", flush=True)
            warmed = True
        # Sprout
        lines = sprout(a.compare, "backtest", path, "--origins", a.origins, "--horizon", a.horizon,
                       "--stride", a.stride, "--level", a.level / 100, "--reps", a.sprout_reps,
                       "--models", "auto,seasonal_naive", *bounds)
        for model, label_model in (("auto", "Sprout auto"), ("seasonal_naive", "Sprout seasonal naive")):
            mine = [ln for ln in lines if ln["model"] == model]
            fcs = [(ln["origin"], np.array(ln["mean"]), np.array(ln["lower"]), np.array(ln["upper"]))
                   for ln in mine]
            mae, mase, cov = score(y, filled, fcs, a.horizon)
            ms = float(np.mean([ln["median_ms"] for ln in mine]))
            chosen = sorted({ln["chosen"] for ln in mine})
            rows.append({"series": label, "model": label_model, "mae": mae, "mase": mase, "cov": cov, "ms": ms,
                         "sprout": model == "auto", "chosen": chosen})
            print(f"  {label_model}: MASE {mase:.3f}, {ms:.2f} ms/fit; chosen: {', '.join(chosen)}", flush=True)
        # statsforecast
        per_model = {}
        for o in origins:
            for name, make in sf_models(o):
                key = name.split("[")[0]
                runs = [sf_forecast(times, y, o, make, a.horizon, a.level) for _ in range(a.sf_reps)]
                mean, lo, hi, _, _ = runs[-1]
                per_model.setdefault(key, {"fcs": [], "ms": [], "core": [], "names": set()})
                per_model[key]["fcs"].append((o, mean, lo, hi))
                per_model[key]["ms"].append(statistics.median(r[3] for r in runs))
                per_model[key]["core"].append(sf_core_ms(y, o, make, a.horizon, a.level, a.sf_reps))
                per_model[key]["names"].add(name)
        for key, v in per_model.items():
            mae, mase, cov = score(y, filled, v["fcs"], a.horizon)
            ms = float(np.mean(v["ms"]))
            names = " / ".join(sorted(v["names"]))
            rows.append({"series": label, "model": f"statsforecast {names}", "mae": mae, "mase": mase,
                         "cov": cov, "ms": ms, "core": float(np.mean(v["core"])), "sprout": False, "key": key})
            print(f"  statsforecast {names}: MASE {mase:.3f}, {ms:.1f} ms/fit", flush=True)
        sp = sprout(a.compare, "speed", path, "--days", 60, "--runs", 50, *bounds)[0]
        speed[label] = sp

    print(f"\n## Accuracy and time per fit+forecast ({protocol})\n")
    print("| series | model | MAE | MASE | 80% coverage | ms per fit+forecast | ms, model alone on an array |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        core = f"{r['core']:.2f}" if "core" in r else "—"
        print(f"| {r['series']} | {r['model']} | {r['mae']:.4g} | {r['mase']:.3f} | {100 * r['cov']:.1f}% | "
              f"{r['ms']:.2f} | {core} |")

    print("\n## Aims\n")
    for label, _, _ in series:
        mine = next(r for r in rows if r["series"] == label and r["sprout"])
        sf = [r for r in rows if r["series"] == label and r["model"].startswith("statsforecast")]
        best = min(sf, key=lambda r: r["mase"])
        fastest = min(sf, key=lambda r: r["ms"])
        ok = mine["mase"] <= best["mase"]
        print(f"- {label}: Sprout auto MASE {mine['mase']:.3f} vs best statsforecast ({best['model']}) "
              f"{best['mase']:.3f}: {'PASS' if ok else 'FAIL'}"
              + ("" if ok else f" (Sprout {100 * (mine['mase'] / best['mase'] - 1):.1f}% higher)"))
        s_best, s_fast = best["ms"] / mine["ms"], fastest["ms"] / mine["ms"]
        print(f"- {label}: Sprout auto is {s_best:,.0f}× faster than the best ({best['model']}, "
              f"{best['ms']:.1f} ms) and {s_fast:,.1f}× faster than the fastest ({fastest['model']}, "
              f"{fastest['ms']:.2f} ms) per fit+forecast; aim ≥{SPEEDUP_AIM:.0f}×: "
              f"{'PASS' if s_best >= SPEEDUP_AIM else 'FAIL'} over the best, "
              f"{'PASS' if s_fast >= SPEEDUP_AIM else 'FAIL'} over the fastest")
        core_best = best["ms"] if "core" not in best else best["core"]
        core_fast = min(r["core"] for r in sf)
        print(f"  against the models alone on arrays (no data frame handling): {core_best / mine['ms']:,.1f}× "
              f"over the best, {core_fast / mine['ms']:,.1f}× over the fastest")
        print(f"  Sprout auto chose: {', '.join(mine['chosen'])}")
    sp = speed[series[0][0]]
    print(f"- single series, {sp['steps']} hourly steps (60 days, sim), fit+forecast with model choice: "
          f"median {sp['median_ms']:.2f} ms (min {sp['min_ms']:.2f}, {sp['runs']} runs, model "
          f"{sp['model']}); aim < {SINGLE_AIM_MS:.0f} ms: {'PASS' if sp['median_ms'] < SINGLE_AIM_MS else 'FAIL'}")
    sp = speed[series[1][0]]
    print(f"- actigraphy, whole series ({sp['steps']} hourly steps): median {sp['median_ms']:.2f} ms "
          f"(model {sp['model']})")


if __name__ == "__main__":
    main()
