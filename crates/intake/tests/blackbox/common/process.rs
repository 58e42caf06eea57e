//! The real `intake` binary as a child process, for tests that kill it (SIGKILL) or read
//! its log.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A running `intake serve`; killed with SIGKILL when dropped.
pub struct IntakeProcess {
    pub child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
}

impl IntakeProcess {
    /// Starts `intake serve` on a free loopback port with the test keys, `data_dir`, and
    /// `env` on top; stderr (the log) is captured when `capture_log`.
    pub fn start(data_dir: &Path, env: &[(&str, &str)], capture_log: bool) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_intake"));
        command
            .arg("serve")
            .env("INTAKE_LISTEN", "127.0.0.1:0")
            .env("INTAKE_DATA_DIR", data_dir)
            .env("INTAKE_API_KEYS", super::API_KEYS)
            .env("INTAKE_LOG", "warn")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(if capture_log { Stdio::piped() } else { Stdio::inherit() });
        // The backend INTAKE_TEST_BACKEND names (nothing for the embedded default).
        command.envs(super::backend::process_env(data_dir));
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("the intake binary starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let base = loop {
            let line = lines.next().expect("intake printed its address").unwrap();
            if let Some(rest) = line.strip_prefix("intake listening on ") {
                break rest.split_whitespace().next().unwrap().to_string();
            }
        };
        Self { child, base }
    }

    /// SIGTERM (a graceful stop), and wait for the process to exit; panics if it is still
    /// running after `within`. Returns how long the stop took.
    pub fn terminate(mut self, within: std::time::Duration) -> std::time::Duration {
        let started = std::time::Instant::now();
        let sent = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(sent.success(), "kill -TERM failed");
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "intake exited with {status} after SIGTERM");
                return started.elapsed();
            }
            assert!(started.elapsed() < within, "intake did not stop within {within:?} of SIGTERM");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// SIGKILL, and wait for the process to be gone.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for IntakeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
