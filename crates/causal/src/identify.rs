//! Owns identification: finding a back-door adjustment set from the graph,
//! and checking instruments.
//!
//! The back-door criterion (Pearl 2009, Def. 3.3.1) asks for a set Z of
//! observed non-descendants of the treatment T that d-separates T from the
//! outcome Y once the edges out of T are removed. The search starts from
//! Z0 = observed ancestors of {T, Y} that are not descendants of T: if any
//! observed back-door set exists then Z0 is one (van der Zander, Liśkiewicz
//! & Textor 2014), so when Z0 fails the effect is not identifiable by
//! adjustment. Z0 is then trimmed of variables that reach Y only through T
//! (instrument-like variables add variance and can amplify bias), and a
//! minimal set is reported alongside.

use crate::error::{CausalError, Result};
use crate::graph::Graph;
use serde::Serialize;

/// Result of back-door identification.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackdoorSet {
    /// The set the estimators adjust for.
    pub adjustment: Vec<String>,
    /// A minimal subset that still satisfies the criterion.
    pub minimal: Vec<String>,
}

/// Whether `z` satisfies the back-door criterion for `treatment -> outcome`.
pub fn is_backdoor_set(graph: &Graph, treatment: &str, outcome: &str, z: &[&str]) -> Result<bool> {
    let t = graph.require(treatment)?;
    let y = graph.require(outcome)?;
    let zs: Vec<usize> = z.iter().map(|n| graph.require(n)).collect::<Result<_>>()?;
    let de_t = graph.descendants(&[t]);
    let cut = graph.without_outgoing(t);
    Ok(valid(&cut, &de_t, t, y, &zs))
}

fn valid(cut: &Graph, de_t: &[bool], t: usize, y: usize, zs: &[usize]) -> bool {
    !zs.iter().any(|&z| de_t[z]) && cut.d_separated_idx(&[t], &[y], zs)
}

/// Finds an adjustment set among `observed` nodes, or explains why none
/// exists.
pub fn identify_backdoor(
    graph: &Graph,
    treatment: &str,
    outcome: &str,
    observed: &[&str],
) -> Result<BackdoorSet> {
    let t = graph.require(treatment)?;
    let y = graph.require(outcome)?;
    if t == y {
        return Err(CausalError::InvalidSpec(
            "treatment and outcome are the same variable".into(),
        ));
    }
    let de_t = graph.descendants(&[t]);
    if de_t[y] && graph.descendants(&[y])[t] {
        return Err(CausalError::CyclicGraph(treatment.to_string()));
    }
    let cut = graph.without_outgoing(t);
    let anc = graph.ancestors(&[t, y]);
    let is_observed = |i: usize| observed.contains(&graph.name(i));
    let z0: Vec<usize> = (0..graph.nodes().len())
        .filter(|&i| i != t && i != y && anc[i] && !de_t[i] && is_observed(i))
        .collect();
    if !valid(&cut, &de_t, t, y, &z0) {
        let hidden: Vec<&str> = (0..graph.nodes().len())
            .filter(|&i| i != t && i != y && anc[i] && !de_t[i] && !is_observed(i))
            .map(|i| graph.name(i))
            .collect();
        let detail = if hidden.is_empty() {
            String::new()
        } else {
            format!(" (unobserved: {})", hidden.join(", "))
        };
        return Err(CausalError::NotIdentifiable(format!(
            "no set of observed variables blocks every back-door path from `{treatment}` to `{outcome}`{detail}"
        )));
    }
    // Drop variables that are not ancestors of Y once T's out-edges are cut:
    // they matter only through T and help nothing.
    let anc_y_cut = cut.ancestors(&[y]);
    let mut adjustment = z0.clone();
    for &z in &z0 {
        if anc_y_cut[z] {
            continue;
        }
        let trial: Vec<usize> = adjustment.iter().copied().filter(|&v| v != z).collect();
        if valid(&cut, &de_t, t, y, &trial) {
            adjustment = trial;
        }
    }
    let mut minimal = adjustment.clone();
    for &z in &adjustment {
        // T <- z -> Y is a back-door path that only z can block: z stays,
        // without a search (every common cause of DoWhy's shortcut graph).
        if cut.parents_of(t).contains(&z) && cut.parents_of(y).contains(&z) {
            continue;
        }
        let trial: Vec<usize> = minimal.iter().copied().filter(|&v| v != z).collect();
        if valid(&cut, &de_t, t, y, &trial) {
            minimal = trial;
        }
    }
    let names = |v: &[usize]| v.iter().map(|&i| graph.name(i).to_string()).collect();
    Ok(BackdoorSet {
        adjustment: names(&adjustment),
        minimal: names(&minimal),
    })
}

/// Checks the graphical instrument conditions given conditioning set `w`:
/// the instrument is connected to the treatment, and is d-separated from
/// the outcome once the edges out of the treatment are removed.
pub fn check_instrument(
    graph: &Graph,
    instrument: &str,
    treatment: &str,
    outcome: &str,
    w: &[&str],
) -> Result<()> {
    let z = graph.require(instrument)?;
    let t = graph.require(treatment)?;
    let y = graph.require(outcome)?;
    let ws: Vec<usize> = w.iter().map(|n| graph.require(n)).collect::<Result<_>>()?;
    let bad = |reason: &str| {
        Err(CausalError::InvalidInstrument {
            instrument: instrument.to_string(),
            reason: reason.to_string(),
        })
    };
    if z == t || z == y {
        return bad("it is the treatment or the outcome");
    }
    let de_t = graph.descendants(&[t]);
    if de_t[z] {
        return bad("it is caused by the treatment");
    }
    if graph.d_separated_idx(&[z], &[t], &ws) {
        return bad("it is not connected to the treatment");
    }
    let cut = graph.without_outgoing(t);
    if !cut.d_separated_idx(&[z], &[y], &ws) {
        return bad("it reaches the outcome other than through the treatment");
    }
    Ok(())
}

/// Observed nodes that pass [`check_instrument`] with an empty conditioning
/// set, in graph order.
pub fn find_instruments(
    graph: &Graph,
    treatment: &str,
    outcome: &str,
    observed: &[&str],
) -> Result<Vec<String>> {
    graph.require(treatment)?;
    graph.require(outcome)?;
    Ok(graph
        .nodes()
        .iter()
        .filter(|n| observed.contains(&n.as_str()))
        .filter(|n| check_instrument(graph, n, treatment, outcome, &[]).is_ok())
        .cloned()
        .collect())
}
