"""One simulated child's per-child effects on the decision-point table, in DoWhy and in
Sprout: the same estimate on the same table, side by side, then Sprout's full refresh.

Sprout's estimate (crates/insights/src/effects.rs) regresses `stress_after` on `started`
and the covariates with the day absorbed as a fixed effect (every column centred within
its day) and a CR2 standard error clustered by day. DoWhy has no fixed-effects option,
so it is given the day as one-hot dummies among the common causes of
`backdoor.linear_regression` (statsmodels OLS): by Frisch-Waugh-Lovell, OLS with a
dummy per day gives the within-day treatment coefficient, the same number. DoWhy has
no cluster-robust (let alone CR2) standard error, so only point estimates are compared.

Called by bench/effects_vs_dowhy.sh, which builds the `effects_bench` example of
crates/insights and provides the virtual environment.
"""

import argparse
import json
import logging
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)

import dowhy  # noqa: E402
import statsmodels  # noqa: E402
from dowhy import CausalModel  # noqa: E402

ESTIMATE_TOL = 1e-6
REFRESH_AIM_MS = 50.0
SPEEDUP_AIM = 100.0

NOTES = """\
1. Same estimate: DoWhy fits OLS of stress_after on started, the covariates and one dummy per day
   but the first (DoWhy adds the intercept); Sprout centres every column within its day and fits
   OLS on that (the day absorbed). Frisch-Waugh-Lovell makes the two treatment coefficients equal.
   Covariates constant within every day (e.g. school_day, test_tomorrow, sleep_hours, yesterday's
   kinds, trend) are absorbed by the day either way: Sprout drops them after centring, and they are
   {absorbed} DoWhy's common causes (see the "absorbed" lines above the table; kept, they make
   DoWhy's design rank-deficient, which statsmodels' pseudo-inverse fit handles: the treatment
   coefficient is still identified). Dummies for all days but the first plus DoWhy's intercept
   span the same columns as a dummy for every day.
   DoWhy identifies with method_name="maximal-adjustment" (all common causes, the set its default
   back-door identification also returns; the default first enumerates candidate sets, about a
   minute per table with ~100 common causes; identification is outside the timer either way).
2. Timing. DoWhy: median of CausalModel.estimate_effect (estimator construction, OLS fit, effect by
   prediction at started=1 and 0); CausalModel() and identify_effect() run before the timer on a
   fresh copy of the data, after one untimed run. DoWhy computes the point estimate only.
   Sprout: median of one sprout_causal::estimate_effect call on the same table, which also builds
   the graph, searches the back-door set, prepares and centres the data, and computes the CR2
   cluster-robust standard error with Bell-McCaffrey degrees of freedom (clustered by day).
   "Sprout ms, point only" is sprout_causal::point_estimate on the same table and spec (the same
   work without any standard error), like for like with DoWhy's call. The example also times the
   call with an HC3 error instead of CR2 (clusters = None): printed above the table.
3. DoWhy has no cluster-robust standard error (its regression's is the plain OLS one), so
   standard errors are not compared; Sprout's CR2 standard error is shown for reference.
4. The full refresh is Sprout alone: intervention_effects(data, bootstrap None, checks on) for all
   six kinds: the decision-point tables, the later-start correction (rounds of point estimates),
   the estimate, the echo widening, and the checks (negative-control outcome, time-shift
   placebo, E-value) for every kind with enough starts (5 days with a start).
"""


def sprout(binary, *args):
    out = subprocess.run([binary, *map(str, args)], check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def with_day_dummies(df, covariates, keep_absorbed, treatment, outcome, fixed_effects):
    """The table with one dummy per day but the first, and the common causes DoWhy gets.
    Without fixed effects (an early bedtime's evening table: one row per evening) the
    covariates alone, as Sprout's regression has them."""
    if fixed_effects is None:
        return df[[treatment, outcome] + covariates], list(covariates), []
    day = df[fixed_effects].astype(int)
    dummies = pd.get_dummies(day, prefix="day", drop_first=True, dtype=float)
    absorbed = [c for c in covariates if (df.groupby(day)[c].nunique() <= 1).all()]
    causes = [c for c in covariates if keep_absorbed or c not in absorbed]
    data = pd.concat([df[[treatment, outcome]], df[causes], dummies], axis=1)
    return data, causes + list(dummies.columns), absorbed


def dowhy_model(df, causes, treatment, outcome):
    model = CausalModel(data=df.copy(), treatment=treatment, outcome=outcome, common_causes=causes)
    # All common causes as the adjustment set, as the default back-door identification
    # also returns here; the default enumerates candidate sets first, which takes about
    # a minute with ~100 common causes (outside the timer either way).
    estimand = model.identify_effect(method_name="maximal-adjustment", proceed_when_unidentifiable=True)
    return model, estimand


def dowhy_estimate(df, causes, reps, treatment, outcome):
    """Median time of `CausalModel.estimate_effect` with backdoor.linear_regression;
    model construction and identify_effect are done before the timer starts, on a
    fresh copy of the data each time, and the first run is not timed."""
    times = []
    value = None
    for i in range(reps + 1):
        model, estimand = dowhy_model(df, causes, treatment, outcome)
        with warnings.catch_warnings():
            # statsmodels warns that the design is rank-deficient (see note 1).
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            est = model.estimate_effect(estimand, method_name="backdoor.linear_regression")
            elapsed = (time.perf_counter() - t0) * 1e3
        if i > 0:
            times.append(elapsed)
        value = float(est.value)
    return value, statistics.median(times)


def within_day_ols(df, covariates, treatment, outcome, fixed_effects):
    """The within-day (fixed-effects) treatment coefficient in NumPy, by least squares
    on day-centred columns: a third computation of the same number (plain OLS with an
    intercept when there are no fixed effects)."""
    cols = [treatment, outcome] + covariates
    if fixed_effects is None:
        centred = df[cols] - df[cols].mean()
    else:
        centred = df[cols] - df.groupby(fixed_effects)[cols].transform("mean")
    x = centred[[treatment] + covariates].to_numpy(float)
    y = centred[outcome].to_numpy(float)
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    return float(beta[0])


def fmt_est(v):
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "—"
    a = abs(v)
    return f"{v:.6g}" if a >= 1e-3 or a == 0 else f"{v:.4e}"


def fmt_ms(v):
    return "—" if v is None else (f"{v:.3f}" if v < 10 else f"{v:.1f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", required=True, help="the built effects_bench example")
    ap.add_argument("--dir", required=True, help="where the decision-point tables are written")
    ap.add_argument("--child", default="auto")
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--drop-absorbed", action="store_true",
                    help="leave out of DoWhy's common causes the covariates that are constant within "
                         "every day (exactly collinear with the day dummies; the estimate is the same)")
    a = ap.parse_args()

    print(f"DoWhy {dowhy.__version__}, statsmodels {statsmodels.__version__}, pandas {pd.__version__}, "
          f"numpy {np.__version__}, Python {sys.version.split()[0]}")
    lines = sprout(a.bench, "export", a.dir, "--child", a.child, "--reps", a.reps)
    child = next(line for line in lines if line["kind"] == "child")
    estimates = [line for line in lines if line["kind"] == "estimate"]
    print(f"child: sprout-sim seed {child['seed']}, child {child['child']} ({child['choice']}; kinds estimated "
          f"by the refresh among candidates: "
          + ", ".join(f"{c['child']}: {c['kinds_estimated']}" for c in child["candidates"])
          + f"), {child['days']} days of minute data to {child['end']}: {child['samples']} samples, "
          f"{child['interventions']} starts")

    rows = []
    for s in estimates:
        kind = s["intervention"]
        df = pd.read_csv(s["csv"], float_precision="round_trip")
        treatment, outcome, fe = s["treatment"], s["outcome"], s.get("fixed_effects")
        data, causes, absorbed = with_day_dummies(df, s["common_causes"], not a.drop_absorbed,
                                                  treatment, outcome, fe)
        ndays = df[fe].nunique() if fe else s["days"]
        dummies = ndays - 1 if fe else 0
        print(f"\n{kind}: {s['csv']}: {len(df)} rows, {s['started']} starts on {s['days_with_start']} days, "
              f"{ndays} days", flush=True)
        print(f"  absorbed by the day (constant within every day; "
              f"{'left out of' if a.drop_absorbed else 'kept in'} DoWhy's common causes): "
              f"{', '.join(absorbed) or 'none'}")
        print(f"  DoWhy common causes: {len(causes) - dummies} covariates + {dummies} day dummies",
              flush=True)
        d_val, d_ms = dowhy_estimate(data, causes, a.reps, treatment, outcome)
        check = within_day_ols(df, [c for c in s["common_causes"] if c not in absorbed], treatment, outcome, fe)
        sp = s.get("estimate")
        print(f"  DoWhy {d_val:.10g} ({d_ms:.2f} ms)  Sprout "
              f"{'error: ' + s['error'] if sp is None else f'{sp:.10g}'} ({s['median_ms']:.3f} ms; "
              f"HC3 {s['median_ms_hc3']:.3f} ms; point only {s['median_ms_point']:.3f} ms)  "
              f"NumPy within-day OLS {check:.10g}", flush=True)
        refresh = s.get("refresh") or {}
        rows.append({
            "kind": kind, "rows": len(df), "starts": s["started"], "days": ndays, "dowhy": d_val, "sprout": sp,
            "numpy": check, "se": s.get("std_error"), "dowhy_ms": d_ms, "sprout_ms": s["median_ms"],
            "sprout_hc3_ms": s["median_ms_hc3"], "sprout_point_ms": s["median_ms_point"],
            "refresh_effect": refresh.get("effect"),
        })

    print(f"\n## Per-kind estimate on the decision-point table (median of {a.reps} timed runs each)\n")
    head = ["kind", "rows", "starts", "DoWhy estimate", "Sprout estimate", "abs. diff", "DoWhy ms", "Sprout ms",
            "speed-up", "Sprout ms, point only", "speed-up, point only", "Sprout CR2 s.e."]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|")
    for r in rows:
        diff = None if r["sprout"] is None else abs(r["dowhy"] - r["sprout"])
        kind = r["kind"] + ("" if r["refresh_effect"] is not None else " ¹")
        cells = [
            kind, str(r["rows"]), str(r["starts"]), fmt_est(r["dowhy"]), fmt_est(r["sprout"]),
            "—" if diff is None else f"{diff:.2e}", fmt_ms(r["dowhy_ms"]), fmt_ms(r["sprout_ms"]),
            f"{r['dowhy_ms'] / r['sprout_ms']:,.1f}×", fmt_ms(r["sprout_point_ms"]),
            f"{r['dowhy_ms'] / r['sprout_point_ms']:,.1f}×", fmt_est(r["se"]),
        ]
        print("| " + " | ".join(cells) + " |")
    print("\n¹ fewer than 5 days with a start: the refresh reports \"not enough data\" for this kind and makes "
          "no estimate; the table and both estimates are shown all the same.")
    print("\nNotes:\n")
    print(NOTES.format(absorbed="left out of" if a.drop_absorbed else "also in"))

    refresh = sprout(a.bench, "refresh", "--child", child["child"], "--reps", a.reps)[-1]
    print("## Checks\n")
    print(f"- one child's full refresh (intervention_effects, {refresh['kinds']} kinds, "
          f"{refresh['kinds_estimated']} with enough starts estimated and checked, "
          f"{child['days']} days of minute data, {refresh['decision_points']} decision points in all): "
          f"{refresh['median_ms']:.1f} ms (median of {refresh['reps']}; fastest {refresh['min_ms']:.1f} ms); "
          f"aim < {REFRESH_AIM_MS:.0f} ms: {'PASS' if refresh['median_ms'] < REFRESH_AIM_MS else 'FAIL'}")
    print("  decision points per kind: " + ", ".join(
        f"{k['intervention']} {k['table_rows']}" + ("" if k["effect"] is None else
                                                   f" (effect {k['effect']:+.4f}, {k['status']}, {k['evidence']})")
        for k in refresh["per_kind"]))
    speedups = [r["dowhy_ms"] / r["sprout_ms"] for r in rows]
    low = min(speedups)
    print(f"- speed-up per estimate (DoWhy ms / Sprout ms, Sprout with its CR2 error): {low:,.1f}× to "
          f"{max(speedups):,.1f}× (median {statistics.median(speedups):,.1f}×); aim ≥{SPEEDUP_AIM:.0f}×: "
          f"{'PASS' if low >= SPEEDUP_AIM else 'FAIL'}")
    hc3 = [r["dowhy_ms"] / r["sprout_hc3_ms"] for r in rows]
    point = [r["dowhy_ms"] / r["sprout_point_ms"] for r in rows]
    print(f"  for reference: Sprout with an HC3 error instead of CR2 {min(hc3):,.1f}× to {max(hc3):,.1f}×; "
          f"Sprout's point estimate alone (like DoWhy's call) {min(point):,.1f}× to {max(point):,.1f}×")
    diffs = [abs(r["dowhy"] - r["sprout"]) for r in rows if r["sprout"] is not None]
    worst = max(diffs) if diffs else float("nan")
    ok = bool(diffs) and worst <= ESTIMATE_TOL and len(diffs) == len(rows)
    print(f"- estimates equal (same method: within-day OLS): max |DoWhy - Sprout| = {worst:.2e} over "
          f"{len(diffs)} kinds (tolerance {ESTIMATE_TOL:g}): {'PASS' if ok else 'FAIL'}")
    np_worst = max(abs(r["numpy"] - r["sprout"]) for r in rows if r["sprout"] is not None)
    print(f"  NumPy within-day least squares on the same CSV: max |NumPy - Sprout| = {np_worst:.2e}")
    same = [abs(r["refresh_effect"] - r["sprout"]) for r in rows
            if r["refresh_effect"] is not None and r["sprout"] is not None]
    if same:
        print(f"  the exported tables are the refresh's: max |refresh effect - Sprout estimate on the CSV's "
              f"table| = {max(same):.2e} over the {len(same)} kinds the refresh estimates")
    print("- standard errors not compared: DoWhy has no cluster-robust (CR2) standard error.")


if __name__ == "__main__":
    main()
