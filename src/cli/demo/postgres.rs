//! The real PostgreSQL behind the emulator's gateways: the local one on 127.0.0.1:5432 when it
//! answers, else a private one started from the installed server binaries in a temporary folder
//! on a free port (stopped and removed when the demo ends), else the command that installs them.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

pub const LOCAL: &str = "127.0.0.1:5432";
const INSTALL: &str = "apt-get install -y postgresql";

/// The backend the emulator relays to.
pub struct Backend {
    pub addr: String,
    /// Set when the demo started this PostgreSQL itself.
    pub private: Option<PrivateCluster>,
}

impl Backend {
    pub fn describe(&self) -> String {
        match &self.private {
            None => format!("{} (the local server; superuser postgres)", self.addr),
            Some(p) => format!(
                "{} (a private server from {}, in {}; removed at the end)",
                self.addr,
                p.bin_dir.display(),
                p.data_dir.display()
            ),
        }
    }
}

/// Uses the local PostgreSQL, or starts a private one (`force_private`: even when one answers).
pub fn find_or_start(force_private: bool) -> Result<Backend, String> {
    if !force_private && answers(LOCAL) {
        return Ok(Backend {
            addr: LOCAL.to_owned(),
            private: None,
        });
    }
    let Some(bin_dir) = installed_bin_dir() else {
        return Err(format!(
            "no PostgreSQL answers on {LOCAL} and no server binaries are installed in \
             /usr/lib/postgresql/*/bin; install them with: {INSTALL}"
        ));
    };
    let cluster = PrivateCluster::start(bin_dir)?;
    Ok(Backend {
        addr: format!("127.0.0.1:{}", cluster.port),
        private: Some(cluster),
    })
}

fn answers(addr: &str) -> bool {
    addr.parse::<SocketAddr>()
        .is_ok_and(|a| TcpStream::connect_timeout(&a, Duration::from_millis(500)).is_ok())
}

/// The newest `/usr/lib/postgresql/<version>/bin` holding initdb and pg_ctl.
fn installed_bin_dir() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version: u32 = entry
                .file_name()
                .to_str()?
                .split('.')
                .next()?
                .parse()
                .ok()?;
            let bin = entry.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("pg_ctl").is_file()).then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

/// A PostgreSQL the demo started (trust authentication, superuser postgres, loopback only).
pub struct PrivateCluster {
    pub bin_dir: PathBuf,
    pub data_dir: PathBuf,
    pub port: u16,
    root: PathBuf,
    stopped: bool,
}

impl PrivateCluster {
    fn start(bin_dir: PathBuf) -> Result<Self, String> {
        let root = std::env::temp_dir().join(format!("pgentra-demo-pg-{}", std::process::id()));
        let data_dir = root.join("data");
        std::fs::create_dir_all(&root).map_err(|e| format!("creating {}: {e}", root.display()))?;
        let mut cluster = Self {
            bin_dir,
            data_dir,
            port: free_port()?,
            root,
            stopped: true,
        };
        // PostgreSQL refuses to run as root: as root, the server runs as the postgres user.
        if is_root() {
            run(
                Command::new("chown")
                    .args(["postgres:postgres"])
                    .arg(&cluster.root),
                "chown",
            )?;
        }
        cluster
            .command("initdb")
            .arg("-D")
            .arg(&cluster.data_dir)
            .args(["-U", "postgres", "--auth=trust", "--no-sync"])
            .run_checked("initdb")?;
        let options = format!(
            "-h 127.0.0.1 -p {} -k {}",
            cluster.port,
            cluster.root.display()
        );
        cluster
            .command("pg_ctl")
            .arg("-D")
            .arg(&cluster.data_dir)
            .arg("-l")
            .arg(cluster.root.join("server.log"))
            .args(["-o", &options, "-w", "start"])
            .run_checked("pg_ctl start")?;
        cluster.stopped = false;
        Ok(cluster)
    }

    fn command(&self, tool: &str) -> Command {
        let path = self.bin_dir.join(tool);
        if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    /// Stops the server and removes its folder.
    pub fn stop(&mut self) {
        if !self.stopped {
            let _ = self
                .command("pg_ctl")
                .arg("-D")
                .arg(&self.data_dir)
                .args(["-m", "fast", "-w", "stop"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            self.stopped = true;
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        self.stop();
    }
}

trait RunChecked {
    fn run_checked(&mut self, what: &str) -> Result<(), String>;
}

impl RunChecked for Command {
    fn run_checked(&mut self, what: &str) -> Result<(), String> {
        run(self, what)
    }
}

fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let out = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running {what}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("finding a free port for PostgreSQL: {e}"))
}

fn is_root() -> bool {
    // The owner of /proc/self is the effective user (no libc call needed).
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Drops a role from the backend the emulator relays to (as its superuser), if it exists.
pub async fn drop_role(role: &str) -> Result<(), String> {
    let backend = pgentra_emulator::pg::backend::Backend::from_env();
    let client = backend
        .superuser("postgres")
        .await
        .map_err(|e| e.to_string())?;
    let sql = format!(
        "DROP ROLE IF EXISTS {}",
        pgentra_core::sql::quote::ident(role).map_err(|e| e.to_string())?
    );
    client
        .batch_execute(&sql)
        .await
        .map_err(|e| format!("{sql}: {e}"))
}
