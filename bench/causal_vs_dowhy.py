"""Runs the same causal estimators on the same CSV files in DoWhy and in Sprout
(through the `compare` example of crates/causal) and prints both estimates and
both times side by side.

Called by bench/causal_vs_dowhy.sh, which builds the example, writes the
simulated child's tables and provides the virtual environment.
"""

import argparse
import json
import logging
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)

import dowhy  # noqa: E402
import sklearn  # noqa: E402
from dowhy import CausalModel  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

REGRESSION_TOL = 1e-6
REFRESH_AIM_MS = 50.0
SPEEDUP_AIM = 100.0


NOTES = """\
1. Timing. DoWhy: median of CausalModel.estimate_effect (estimator construction, propensity fit,
   estimate); CausalModel() and identify_effect() run before the timer on a fresh copy of the data,
   after one untimed run. Sprout: median of one estimate_effect call, which also builds the graph,
   searches the back-door set, prepares the data and computes an analytic standard error.
2. Propensity model (aligned table): DoWhy is given an unpenalised Newton logistic fit
   (scikit-learn's default has an L2 penalty, C=1), which matches Sprout's IRLS fit.
3. Stratification: DoWhy num_strata=5, clipping_threshold=0 (defaults: automatic, 10). DoWhy bins
   by round(rank/n*5), six bins with half-width ends; Sprout's default is five equal-count bins
   (quintiles). The "DoWhy bins" rows run Sprout with strata_rule = DoWhy (same rule, same threshold).
4. Matching: one neighbour with replacement on both sides; ties between equally near units are broken
   differently. DoWhy computes the point estimate only; Sprout's timed call computes the estimate and
   its Abadie-Imbens (2006) analytic standard error and interval (no bootstrap). Weighting: Hajek
   weights on both sides, propensities clipped to [0.01, 0.99] (DoWhy's default is [0.05, 0.95]).
5. Refuters refute the regression estimate. DoWhy: placebo (permute) and random common cause, 100
   simulations each, each timed alone; the 'all' row sums them. Sprout: one refute() call runs
   placebo (30), random common cause (10), 80% subsets (20) and the E-value. New effects are random.
6. Defaults table: on NSW scikit-learn's default L-BFGS propensity fit stops at its 100-iteration
   limit without converging (unscaled earnings), so DoWhy's default estimates there are unstable.
"""


def unpenalised_logit():
    """Plain maximum-likelihood logistic regression, as Sprout fits by IRLS.

    scikit-learn's default (and so DoWhy's) adds an L2 penalty with C=1; an
    exact Newton solver with no penalty gives the same propensities as
    Sprout's, so matching and weighting can be compared like for like.
    """
    return LogisticRegression(C=np.inf, solver="newton-cholesky", tol=1e-12, max_iter=1000)


def aligned_params(method, num_strata, ps_clip):
    if method == "backdoor.propensity_score_stratification":
        init = {"num_strata": num_strata, "clipping_threshold": 0}
    elif method == "backdoor.propensity_score_weighting":
        init = {"min_ps_score": ps_clip, "max_ps_score": 1 - ps_clip, "weighting_scheme": "ips_weight"}
    else:
        init = {}
    if method != "backdoor.linear_regression":
        init["propensity_score_model"] = unpenalised_logit()
    return {"init_params": init}


def dowhy_model(df, treatment, outcome, causes):
    model = CausalModel(data=df.copy(), treatment=treatment, outcome=outcome, common_causes=causes)
    estimand = model.identify_effect(proceed_when_unidentifiable=True)
    return model, estimand


def dowhy_estimate(df, treatment, outcome, causes, method, estimand_name, params, reps):
    """Median time of `CausalModel.estimate_effect` (estimator construction,
    propensity fit and estimate); model construction and identify_effect are
    done before the timer starts, on a fresh copy of the data each time
    (DoWhy writes its propensity column into the data frame)."""
    times = []
    value = None
    for i in range(reps + 1):  # the first run warms caches and is not timed
        model, estimand = dowhy_model(df, treatment, outcome, causes)
        p = None if params is None else {"init_params": dict(params["init_params"])}
        if p is not None and "propensity_score_model" in p["init_params"]:
            p["init_params"]["propensity_score_model"] = unpenalised_logit()
        t0 = time.perf_counter()
        est = model.estimate_effect(estimand, method_name=method, target_units=estimand_name, method_params=p)
        elapsed = (time.perf_counter() - t0) * 1e3
        if i > 0:
            times.append(elapsed)
        value = float(est.value)
    return value, statistics.median(times)


def dowhy_refute(df, treatment, outcome, causes, refuter, reps, seed):
    """Median time of one `refute_estimate` call with DoWhy's default number
    of simulations (100), refuting the linear-regression estimate."""
    times = []
    value = None
    for i in range(reps + 1):
        model, estimand = dowhy_model(df, treatment, outcome, causes)
        est = model.estimate_effect(estimand, method_name="backdoor.linear_regression")
        kwargs = {"placebo_type": "permute"} if refuter == "placebo_treatment_refuter" else {}
        t0 = time.perf_counter()
        ref = model.refute_estimate(estimand, est, method_name=refuter, random_seed=seed + i, **kwargs)
        elapsed = (time.perf_counter() - t0) * 1e3
        if i > 0:
            times.append(elapsed)
        value = float(ref.new_effect)
    return value, statistics.median(times)


def reference_checks(df, treatment, outcome, causes, num_strata):
    """Sprout's stratification bins and matching tie rule, re-implemented here
    on scikit-learn's propensities, to show where the two libraries part."""
    x = df[causes].to_numpy(float)
    t = df[treatment].to_numpy(float)
    y = df[outcome].to_numpy(float)
    ps = unpenalised_logit().fit(x, t).predict_proba(x)[:, 1]
    n = len(y)
    order = np.argsort(ps, kind="stable")
    # Average 1-based ranks, so equal propensities share a stratum (as in Sprout).
    avg_rank = pd.Series(ps).rank(method="average").to_numpy()
    out = {}
    for estimand_name in ("ate", "att"):
        groups = [[] for _ in range(num_strata)]
        for i in order:
            # floor(mean 0-based position * k / n), in integers: 2 * (rank - 1) is an integer.
            twice_pos = int(round(2 * (avg_rank[i] - 1)))
            groups[twice_pos * num_strata // (2 * n)].append(i)
        parts = []
        for g in groups:
            g = np.array(g, dtype=int)
            tr, co = g[t[g] > 0.5], g[t[g] <= 0.5]
            if len(tr) and len(co):
                w = len(g) if estimand_name == "ate" else len(tr)
                parts.append((w, y[tr].mean() - y[co].mean()))
        tw = sum(w for w, _ in parts)
        out[("ps_stratification", estimand_name)] = sum(w * d for w, d in parts) / tw

    def matched(frm, to):
        pool = to[np.argsort(ps[to], kind="stable")]
        pool_ps = ps[pool]
        total = 0.0
        for i in frm:
            pos = int(np.searchsorted(pool_ps, ps[i], side="left"))
            if pos == 0:
                best = pool[0]
            elif pos == len(pool):
                best = pool[-1]
            else:
                left, right = pool[pos - 1], pool[pos]
                best = left if ps[i] - ps[left] <= ps[right] - ps[i] else right
            total += y[i] - y[best]
        return total / len(frm)

    tr, co = np.where(t > 0.5)[0], np.where(t <= 0.5)[0]
    att, atc = matched(tr, co), -matched(co, tr)
    out[("ps_matching", "att")] = att
    out[("ps_matching", "ate")] = (len(tr) * att + len(co) * atc) / n
    ties = 0
    for i in tr:
        d = np.abs(ps[co] - ps[i])
        near = co[d <= d.min() + 1e-12]
        ties += len(set(y[near])) > 1
    return out, ties


def sprout(binary, *args):
    out = subprocess.run([binary, *map(str, args)], check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def fmt_est(v):
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "—"
    a = abs(v)
    return f"{v:.6g}" if a >= 1e-3 or a == 0 else f"{v:.4e}"


def fmt_ms(v):
    return "—" if v is None else (f"{v:.3f}" if v < 10 else f"{v:.1f}")


def print_table(rows):
    head = ["data", "method", "DoWhy estimate", "Sprout estimate", "abs. diff", "DoWhy ms", "Sprout ms", "speed-up"]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join(["---"] * 2 + ["---:"] * 6) + "|")
    for r in rows:
        diff = None if r["dowhy"] is None or r["sprout"] is None else abs(r["dowhy"] - r["sprout"])
        speed = r["dowhy_ms"] / r["sprout_ms"] if r["dowhy_ms"] and r["sprout_ms"] else None
        cells = [
            r["data"],
            r["method"],
            fmt_est(r["dowhy"]),
            fmt_est(r["sprout"]),
            "—" if diff is None else f"{diff:.2e}",
            fmt_ms(r["dowhy_ms"]),
            fmt_ms(r["sprout_ms"]),
            "—" if speed is None else f"{speed:,.0f}×",
        ]
        print("| " + " | ".join(cells) + " |")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--compare", required=True, help="the built compare example")
    ap.add_argument("--nsw", required=True)
    ap.add_argument("--sim", required=True, help="simulated child-day table for the side-by-side estimates")
    ap.add_argument("--refresh-table", required=True, help="simulated ~60-day table for the full refresh")
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--refute-reps", type=int, default=3)
    ap.add_argument("--num-strata", type=int, default=5)
    ap.add_argument("--ps-clip", type=float, default=0.01)
    a = ap.parse_args()

    print(f"DoWhy {dowhy.__version__}, scikit-learn {sklearn.__version__}, pandas {pd.__version__}, "
          f"Python {sys.version.split()[0]}")
    datasets = [
        ("NSW (445 rows)", a.nsw, "treat", "re78",
         ["age", "educ", "black", "hisp", "marr", "nodegree", "re74", "re75"]),
    ]
    sim_rows = sum(1 for _ in open(a.sim)) - 1
    datasets.append((f"sim child ({sim_rows} days)", a.sim, "intervened", "evening_stress",
                     ["bad_day", "test_next_day", "school_day"]))

    methods = [
        ("regression", "backdoor.linear_regression", "regression", "ate"),
        ("ps_stratification", "backdoor.propensity_score_stratification", "ps_stratification", "ate"),
        ("ps_stratification", "backdoor.propensity_score_stratification", "ps_stratification", "att"),
        ("ps_stratification, DoWhy bins", "backdoor.propensity_score_stratification", "ps_stratification_dowhy",
         "ate"),
        ("ps_stratification, DoWhy bins", "backdoor.propensity_score_stratification", "ps_stratification_dowhy",
         "att"),
        ("ps_matching", "backdoor.propensity_score_matching", "ps_matching", "ate"),
        ("ps_matching", "backdoor.propensity_score_matching", "ps_matching", "att"),
        ("ps_weighting", "backdoor.propensity_score_weighting", "ipw", "ate"),
        ("ps_weighting", "backdoor.propensity_score_weighting", "ipw", "att"),
    ]
    rows, default_rows, checks, notes, same = [], [], [], [], []
    for label, path, treatment, outcome, causes in datasets:
        df = pd.read_csv(path)
        print(f"\n{label}: {path}; {treatment} -> {outcome}; common causes {', '.join(causes)}", flush=True)
        sp = {}
        for estimand_name in ("ate", "att"):
            for line in sprout(a.compare, "estimate", path, "--treatment", treatment, "--outcome", outcome,
                               "--causes", ",".join(causes), "--estimand", estimand_name,
                               "--num-strata", a.num_strata, "--ps-clip", a.ps_clip, "--reps", a.reps,
                               "--methods", "regression,ps_stratification,ps_matching,ipw"):
                sp[(line["method"], estimand_name)] = line
            # Sprout with DoWhy's bin rule and the aligned threshold (0).
            for line in sprout(a.compare, "estimate", path, "--treatment", treatment, "--outcome", outcome,
                               "--causes", ",".join(causes), "--estimand", estimand_name,
                               "--num-strata", a.num_strata, "--strata-rule", "dowhy", "--strata-clipping", 0,
                               "--reps", a.reps, "--methods", "ps_stratification"):
                sp[("ps_stratification_dowhy", estimand_name)] = line
        for name, dw_method, sp_method, estimand_name in methods:
            d_val, d_ms = dowhy_estimate(df, treatment, outcome, causes, dw_method, estimand_name,
                                         aligned_params(dw_method, a.num_strata, a.ps_clip), a.reps)
            s = sp[(sp_method, estimand_name)]
            rows.append({"data": label, "method": f"{name} ({estimand_name.upper()})", "dowhy": d_val,
                         "sprout": s.get("estimate"), "dowhy_ms": d_ms, "sprout_ms": s["median_ms"]})
            print(f"  {name:18s} {estimand_name}: DoWhy {d_val:.6g} ({d_ms:.2f} ms)  "
                  f"Sprout {s.get('estimate', float('nan')):.6g} ({s['median_ms']:.3f} ms)", flush=True)
            if name == "regression":
                diff = abs(d_val - s["estimate"])
                checks.append((label, diff, diff <= REGRESSION_TOL))
            if sp_method in ("ps_stratification_dowhy", "ipw"):
                diff = abs(d_val - s["estimate"])
                same.append(f"{label}, {name} ({estimand_name.upper()}): |DoWhy - Sprout| = {diff:.2e} "
                            f"({diff / max(abs(d_val), 1e-300):.1e} relative)")
        ref, ties = reference_checks(df, treatment, outcome, causes, a.num_strata)
        for (m, e), v in ref.items():
            s = sp[(m, e)]["estimate"]
            notes.append(f"{label}, {m} ({e.upper()}): Sprout's rule on scikit-learn's propensities gives "
                         f"{v:.6g}, Sprout {s:.6g} (|diff| {abs(v - s):.1e})")
        notes.append(f"{label}: {ties} treated units have several equally near controls with different "
                     f"outcomes (tied propensities), where the choice of neighbour is arbitrary")
        # DoWhy with its own defaults, next to Sprout's defaults (ATE).
        defaults = [m for m in methods if m[3] == "ate" and m[0] in ("ps_stratification", "ps_matching",
                                                                       "ps_weighting")]
        for name, dw_method, sp_method, _ in defaults:
            d_val, d_ms = dowhy_estimate(df, treatment, outcome, causes, dw_method, "ate", None, a.reps)
            s = sp[(sp_method, "ate")]
            default_rows.append({"data": label, "method": f"{name} (ATE)", "dowhy": d_val,
                                 "sprout": s.get("estimate"), "dowhy_ms": d_ms, "sprout_ms": s["median_ms"]})
        # Refuters on the regression estimate.
        refs = {r["refuter"]: r for r in sprout(a.compare, "refute", path, "--treatment", treatment,
                                                "--outcome", outcome, "--causes", ",".join(causes),
                                                "--method", "regression", "--reps", a.reps)}
        total_dowhy = 0.0
        for refuter, sp_name in (("placebo_treatment_refuter", "placebo_treatment"),
                                 ("random_common_cause", "random_common_cause")):
            d_val, d_ms = dowhy_refute(df, treatment, outcome, causes, refuter, a.refute_reps, 11)
            total_dowhy += d_ms
            rows.append({"data": label, "method": f"refute: {sp_name} (new effect)", "dowhy": d_val,
                         "sprout": refs[sp_name]["new_effect"], "dowhy_ms": d_ms, "sprout_ms": None})
            print(f"  {refuter}: DoWhy new effect {d_val:.6g} ({d_ms:.1f} ms)  "
                  f"Sprout {refs[sp_name]['new_effect']:.6g}", flush=True)
        call_ms = refs["placebo_treatment"]["call_median_ms"]
        rows.append({"data": label, "method": "refuters, all (note 5)", "dowhy": None, "sprout": None,
                     "dowhy_ms": total_dowhy, "sprout_ms": call_ms})

    print("\n## Estimates and time per estimate (aligned settings)\n")
    print_table(rows)
    print("\nNotes:\n")
    print(NOTES)
    print("## DoWhy with its own defaults next to Sprout's defaults\n")
    print_table(default_rows)

    print("\n## Where the estimates part (re-implementation of Sprout's rules in Python)\n")
    for n in notes:
        print(f"- {n}")
    print("\n## Checks\n")
    for label, diff, ok in checks:
        print(f"- regression, {label}: |DoWhy - Sprout| = {diff:.2e} (tolerance {REGRESSION_TOL:g}): "
              f"{'PASS' if ok else 'FAIL'}")
    for line in same:
        print(f"- same rule on both sides, {line}")
    est_rows = [r for r in rows if r["dowhy_ms"] and r["sprout_ms"] and not r["method"].startswith("refuters")]
    speedups = [r["dowhy_ms"] / r["sprout_ms"] for r in est_rows]
    low = min(speedups)
    print(f"- speed-up per estimate: {low:,.0f}× to {max(speedups):,.0f}× "
          f"(median {statistics.median(speedups):,.0f}×); aim ≥{SPEEDUP_AIM:.0f}×: "
          f"{'PASS' if low >= SPEEDUP_AIM else 'FAIL'}")
    for r in est_rows:
        if r["dowhy_ms"] / r["sprout_ms"] < SPEEDUP_AIM:
            print(f"  below the aim: {r['data']}, {r['method']}: {r['dowhy_ms'] / r['sprout_ms']:,.0f}×")

    refresh = sprout(a.compare, "refresh", a.refresh_table, "--outcome", "evening_stress",
                     "--causes", "bad_day,test_next_day,school_day",
                     "--kinds", "mindfulness,outdoor_play,screen_limit,early_bedtime,reading",
                     "--bootstrap", 500, "--reps", 20)[0]
    ok = [k for k in refresh["per_kind"] if "error" not in k]
    failed = [f"{k['kind']} ({k['error']})" for k in refresh["per_kind"] if "error" in k]
    print(f"- one child's full refresh: {refresh['kinds']} intervention kinds × AIPW with bootstrap "
          f"{refresh['bootstrap']} on {refresh['rows']} days: {refresh['median_ms']:.2f} ms "
          f"(median of {refresh['reps']}); aim < {REFRESH_AIM_MS:.0f} ms: "
          f"{'PASS' if refresh['median_ms'] < REFRESH_AIM_MS else 'FAIL'}")
    print(f"  estimated: " + "; ".join(
        f"{k['kind']} {k['estimate']:+.4f} [{k['ci'][0]:+.4f}, {k['ci'][1]:+.4f}] ({k['n_treated']} days)"
        for k in ok))
    if failed:
        print(f"  not estimable (returned an error quickly, time included): {'; '.join(failed)}")


if __name__ == "__main__":
    main()
