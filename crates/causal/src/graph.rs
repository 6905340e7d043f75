//! Owns the causal graph (a DAG over named nodes) and d-separation.
//!
//! d-separation uses the "reachable" (Bayes-ball) algorithm of Koller &
//! Friedman (2009, Alg. 3.1): a breadth-first walk over (node, direction)
//! states that passes through a collider only when the collider or one of
//! its descendants is conditioned on.

use crate::error::{CausalError, Result};
use std::collections::VecDeque;

/// A directed acyclic graph.
#[derive(Debug, Clone, PartialEq)]
pub struct Graph {
    names: Vec<String>,
    parents: Vec<Vec<usize>>,
    children: Vec<Vec<usize>>,
}

impl Graph {
    /// Builds a graph from `(cause, effect)` pairs; nodes are created as
    /// they are named. Fails on a cycle or a self-loop.
    pub fn from_edges<S: AsRef<str>>(edges: &[(S, S)]) -> Result<Graph> {
        let mut g = Graph {
            names: Vec::new(),
            parents: Vec::new(),
            children: Vec::new(),
        };
        for (a, b) in edges {
            let a = g.add_node(a.as_ref());
            let b = g.add_node(b.as_ref());
            if a == b {
                return Err(CausalError::CyclicGraph(g.names[a].clone()));
            }
            if !g.children[a].contains(&b) {
                g.children[a].push(b);
                g.parents[b].push(a);
            }
        }
        g.check_acyclic()?;
        Ok(g)
    }

    /// DoWhy's shortcut: every common cause points at treatment and outcome,
    /// every instrument at the treatment, every effect modifier at the
    /// outcome, and the treatment at the outcome.
    pub fn from_shortcut(
        treatment: &str,
        outcome: &str,
        common_causes: &[String],
        instruments: &[String],
        effect_modifiers: &[String],
    ) -> Result<Graph> {
        let mut edges: Vec<(&str, &str)> = vec![(treatment, outcome)];
        for w in common_causes {
            edges.push((w, treatment));
            edges.push((w, outcome));
        }
        for z in instruments {
            edges.push((z, treatment));
        }
        for m in effect_modifiers {
            if !common_causes.contains(m) {
                edges.push((m, outcome));
            }
        }
        Graph::from_edges(&edges)
    }

    fn add_node(&mut self, name: &str) -> usize {
        if let Some(i) = self.index(name) {
            return i;
        }
        self.names.push(name.to_string());
        self.parents.push(Vec::new());
        self.children.push(Vec::new());
        self.names.len() - 1
    }

    fn check_acyclic(&self) -> Result<()> {
        let n = self.names.len();
        let mut indeg: Vec<usize> = self.parents.iter().map(Vec::len).collect();
        let mut queue: VecDeque<usize> = (0..n).filter(|&i| indeg[i] == 0).collect();
        let mut seen = 0;
        while let Some(v) = queue.pop_front() {
            seen += 1;
            for &c in &self.children[v] {
                indeg[c] -= 1;
                if indeg[c] == 0 {
                    queue.push_back(c);
                }
            }
        }
        if seen == n {
            Ok(())
        } else {
            let stuck = (0..n).find(|&i| indeg[i] > 0).unwrap_or(0);
            Err(CausalError::CyclicGraph(self.names[stuck].clone()))
        }
    }

    pub fn nodes(&self) -> &[String] {
        &self.names
    }

    pub fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    pub(crate) fn require(&self, name: &str) -> Result<usize> {
        self.index(name)
            .ok_or_else(|| CausalError::UnknownNode(name.to_string()))
    }

    pub fn name(&self, i: usize) -> &str {
        &self.names[i]
    }

    pub fn parents_of(&self, i: usize) -> &[usize] {
        &self.parents[i]
    }

    /// Whether there is an edge `a -> b`.
    pub fn has_edge(&self, a: &str, b: &str) -> bool {
        match (self.index(a), self.index(b)) {
            (Some(a), Some(b)) => self.children[a].contains(&b),
            _ => false,
        }
    }

    /// Nodes reachable from `start` following `next`, `start` included.
    fn closure(&self, start: &[usize], next: &[Vec<usize>]) -> Vec<bool> {
        let mut mark = vec![false; self.names.len()];
        let mut stack: Vec<usize> = start.to_vec();
        while let Some(v) = stack.pop() {
            if mark[v] {
                continue;
            }
            mark[v] = true;
            stack.extend(next[v].iter().copied().filter(|&c| !mark[c]));
        }
        mark
    }

    /// Ancestors of `nodes`, the nodes themselves included.
    pub(crate) fn ancestors(&self, nodes: &[usize]) -> Vec<bool> {
        self.closure(nodes, &self.parents)
    }

    /// Descendants of `nodes`, the nodes themselves included.
    pub(crate) fn descendants(&self, nodes: &[usize]) -> Vec<bool> {
        self.closure(nodes, &self.children)
    }

    /// A copy with every edge out of `node` removed (the graph in which
    /// back-door paths are the only connections left).
    pub(crate) fn without_outgoing(&self, node: usize) -> Graph {
        let mut g = self.clone();
        for &c in &self.children[node] {
            g.parents[c].retain(|&p| p != node);
        }
        g.children[node].clear();
        g
    }

    /// Whether every node in `xs` is d-separated from every node in `ys`
    /// given `zs`.
    pub fn d_separated(&self, xs: &[&str], ys: &[&str], zs: &[&str]) -> Result<bool> {
        let xs = self.indices(xs)?;
        let ys = self.indices(ys)?;
        let zs = self.indices(zs)?;
        Ok(self.d_separated_idx(&xs, &ys, &zs))
    }

    fn indices(&self, names: &[&str]) -> Result<Vec<usize>> {
        names.iter().map(|n| self.require(n)).collect()
    }

    pub(crate) fn d_separated_idx(&self, xs: &[usize], ys: &[usize], zs: &[usize]) -> bool {
        let n = self.names.len();
        // 0: other, 1: in `ys`, 2: in `xs` (an x is never counted as reached).
        let mut role = vec![0u8; n];
        for &y in ys {
            role[y] = 1;
        }
        for &x in xs {
            role[x] = 2;
        }
        !self.reaches(xs, zs, |v| role[v] == 1)
    }

    /// Whether an active trail given `zs` leads from `xs` to a node that is
    /// not in `zs` and passes `target`; stops at the first such node.
    fn reaches(&self, xs: &[usize], zs: &[usize], target: impl Fn(usize) -> bool) -> bool {
        let n = self.names.len();
        let mut in_z = vec![false; n];
        for &z in zs {
            in_z[z] = true;
        }
        let anc_z = self.ancestors(zs);
        // Direction: true = travelling up (arrived from a child),
        // false = travelling down (arrived from a parent).
        let mut visited = vec![[false; 2]; n];
        let mut stack: Vec<(usize, bool)> = xs.iter().map(|&x| (x, true)).collect();
        while let Some((v, up)) = stack.pop() {
            let slot = usize::from(up);
            if visited[v][slot] {
                continue;
            }
            visited[v][slot] = true;
            if !in_z[v] && target(v) {
                return true;
            }
            if up {
                if !in_z[v] {
                    stack.extend(self.parents[v].iter().map(|&p| (p, true)));
                    stack.extend(self.children[v].iter().map(|&c| (c, false)));
                }
            } else {
                if !in_z[v] {
                    stack.extend(self.children[v].iter().map(|&c| (c, false)));
                }
                if anc_z[v] {
                    stack.extend(self.parents[v].iter().map(|&p| (p, true)));
                }
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_fork_collider() {
        let g = Graph::from_edges(&[("a", "b"), ("b", "c")]).unwrap();
        assert!(!g.d_separated(&["a"], &["c"], &[]).unwrap());
        assert!(g.d_separated(&["a"], &["c"], &["b"]).unwrap());
        let g = Graph::from_edges(&[("a", "c"), ("b", "c"), ("c", "d")]).unwrap();
        assert!(g.d_separated(&["a"], &["b"], &[]).unwrap());
        assert!(!g.d_separated(&["a"], &["b"], &["c"]).unwrap());
        assert!(!g.d_separated(&["a"], &["b"], &["d"]).unwrap());
    }

    #[test]
    fn detects_cycles() {
        let g = Graph::from_edges(&[("a", "b"), ("b", "c"), ("c", "a")]);
        assert!(matches!(g, Err(CausalError::CyclicGraph(_))));
    }
}
