//! Running the real `sprout` binary in tests: start it, read the URL it prints, stop it.

// Each test file uses the parts it needs.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub const SPROUT: &str = env!("CARGO_BIN_EXE_sprout");

/// A running `sprout` process and the URL it printed.
pub struct Running {
    child: Child,
    pub url: String,
}

impl Running {
    /// Starts `sprout ARGS` and waits for its "… at http://…" line.
    pub fn start(args: &[&str], envs: &[(&str, &str)]) -> Self {
        Self::start_until(args, envs, "http://")
    }

    /// Starts `sprout ARGS` and waits for a line containing `marker`; `url` is the line
    /// from the marker on.
    pub fn start_until(args: &[&str], envs: &[(&str, &str)], marker: &str) -> Self {
        let mut child = Command::new(SPROUT)
            .args(args)
            .envs(envs.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn sprout");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let url = loop {
            let line = lines
                .next()
                .expect("sprout printed its URL before exiting")
                .expect("line");
            if let Some(at) = line.find(marker) {
                break line[at..].trim().to_owned();
            }
        };
        // Keep draining stdout so the process never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Self { child, url }
    }

    /// `kill -9`: no shutdown, no flush, requests cut off mid-flight.
    pub fn kill9(mut self) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-KILL", &pid]).status().expect("kill");
        assert!(sent.success());
        let status = self.child.wait().expect("wait");
        assert!(!status.success(), "a killed process does not exit cleanly");
    }

    /// Sends SIGTERM and returns whether the process exited cleanly.
    pub fn terminate(mut self) -> bool {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
        assert!(sent.success());
        self.child.wait().expect("wait").success()
    }
}

/// Sends a request; its status and JSON body (`null` when not JSON), or `None` when it
/// could not be sent (the server is down).
pub async fn send(request: reqwest::RequestBuilder) -> Option<(u16, serde_json::Value)> {
    let response = request.send().await.ok()?;
    let status = response.status().as_u16();
    Some((status, response.json().await.unwrap_or(serde_json::Value::Null)))
}

/// [`send`] to a server that must be up.
pub async fn call(request: reqwest::RequestBuilder) -> (u16, serde_json::Value) {
    send(request).await.expect("the server answers")
}
