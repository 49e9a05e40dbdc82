//! `cargo xtask demo`: builds the package and the devserver, then serves the
//! demo page (`www/` at `/demo/`, the package at `/pkg/`) with short token
//! lifetimes, so refreshes happen while one watches. Ctrl-C (or SIGTERM)
//! stops the devserver and the task.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use crate::{Paths, Result, build, devserver, toolchain};

/// The port when `--port` is not given.
const DEFAULT_PORT: u16 = 8787;

/// Lifetimes short enough to watch: access tokens (LGDX, Keycloak, Identity
/// Manager), refresh tokens, TNCO access tokens; in seconds.
const LIFETIMES: [(&str, &str); 3] = [
    ("--access-ttl", "20"),
    ("--refresh-ttl", "120"),
    ("--tnco-ttl", "30"),
];

/// How long the devserver may take to print its ready line.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

const USAGE: &str = "\
usage: cargo xtask demo [--port N] [--no-build] [-- DEVSERVER FLAGS…]

  --port N      port on 127.0.0.1 (default 8787)
  --no-build    serve the package already in pkg/ instead of building it
  -- …          more devserver flags, e.g. `-- --kc-rotation on --verbose`";

/// What the command line asked for.
#[derive(Debug, PartialEq, Eq)]
struct Options {
    port: u16,
    build: bool,
    extra: Vec<String>,
    help: bool,
}

impl Options {
    fn parse(args: &[String]) -> Result<Self> {
        let mut options = Self {
            port: DEFAULT_PORT,
            build: true,
            extra: Vec::new(),
            help: false,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--port" => {
                    let value = args.next().ok_or("--port needs a number")?;
                    options.port = value
                        .parse()
                        .map_err(|_| format!("--port {value}: not a port number"))?;
                }
                "--no-build" => options.build = false,
                "-h" | "--help" => options.help = true,
                "--" => options.extra.extend(args.by_ref().cloned()),
                other => return Err(format!("unknown demo option `{other}`\n\n{USAGE}")),
            }
        }
        Ok(options)
    }
}

/// Set by the SIGINT/SIGTERM handler; the wait loop then stops the devserver.
static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: i32) {
    STOP.store(true, Ordering::SeqCst);
}

/// Routes SIGINT and SIGTERM to [`on_signal`], so the devserver is stopped
/// even when only this process gets the signal.
fn catch_signals() {
    const SIGINT: i32 = 2;
    const SIGTERM: i32 = 15;
    unsafe extern "C" {
        fn signal(signum: i32, handler: extern "C" fn(i32)) -> usize;
    }
    for signum in [SIGINT, SIGTERM] {
        // SAFETY: `signal` from the C library the standard library links;
        // the handler only stores to an atomic, which is async-signal-safe.
        unsafe {
            signal(signum, on_signal);
        }
    }
}

/// Builds what the page needs, starts the devserver and waits until Ctrl-C.
pub(crate) fn run(paths: &Paths, args: &[String]) -> Result {
    let options = Options::parse(args)?;
    if options.help {
        println!("{USAGE}");
        return Ok(());
    }
    let www = paths.root.join("www");
    if !www.join("index.html").is_file() {
        return Err(format!("{} has no index.html", www.display()));
    }
    let pkg = if options.build {
        build::run(paths)?
    } else {
        paths.pkg()
    };
    if !pkg.join("index.js").is_file() {
        return Err(format!(
            "{} has no package: run `cargo xtask build`",
            pkg.display()
        ));
    }
    println!("demo: building the devserver");
    let toolchain = toolchain::for_wasm(paths)?;
    let bin = devserver::build(paths, &toolchain)?;

    catch_signals();
    let mut child = start(&bin, &options, &www, &pkg)?;
    let result = serve(&mut child, options.port);
    let _ = child.kill();
    let _ = child.wait();
    if result.is_ok() {
        println!("\ndemo: devserver stopped");
    }
    result
}

/// Starts the devserver on `options.port`, serving `www` and `pkg`.
fn start(bin: &Path, options: &Options, www: &Path, pkg: &Path) -> Result<Child> {
    let mut cmd = Command::new(bin);
    cmd.args(["--port", &options.port.to_string()])
        .arg("--www")
        .arg(www)
        .arg("--pkg")
        .arg(pkg);
    for (flag, value) in LIFETIMES {
        cmd.args([flag, value]);
    }
    cmd.args(&options.extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    cmd.spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))
}

/// Waits for the ready line, prints the page's URL, then waits for the
/// devserver to exit or for a signal.
fn serve(child: &mut Child, port: u16) -> Result {
    let stdout = child.stdout.take().ok_or("devserver stdout missing")?;
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout)
            .lines()
            .map_while(std::io::Result::ok)
        {
            match line.strip_prefix("devserver listening on ") {
                Some(url) => {
                    let _ = tx.send(url.trim().to_owned());
                }
                None => println!("{line}"),
            }
        }
    });
    let mut waited = Duration::ZERO;
    let tick = Duration::from_millis(100);
    let url = loop {
        if STOP.load(Ordering::SeqCst) {
            return Ok(());
        }
        if let Ok(url) = rx.recv_timeout(tick) {
            break url;
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "the devserver exited ({status}) before it was ready; \
                 is port {port} in use? (try --port N)"
            ));
        }
        waited += tick;
        if waited >= READY_TIMEOUT {
            return Err(format!(
                "the devserver did not report ready within {READY_TIMEOUT:?}"
            ));
        }
    };
    let lifetimes: Vec<String> = LIFETIMES
        .iter()
        .map(|(flag, secs)| format!("{} {secs} s", flag.trim_start_matches("--")))
        .collect();
    println!("\ndemo: devserver at {url} ({})", lifetimes.join(", "));
    println!("\n    open {url}/demo/\n");
    println!("demo: Ctrl-C stops it");
    loop {
        if STOP.load(Ordering::SeqCst) {
            return Ok(());
        }
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(format!("the devserver exited ({status})")),
            Ok(None) => thread::sleep(tick),
            Err(e) => return Err(format!("waiting for the devserver: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options> {
        Options::parse(&args.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn parses_port_build_and_devserver_flags() {
        let o = parse(&[]).unwrap();
        assert_eq!((o.port, o.build, o.extra.len()), (DEFAULT_PORT, true, 0));
        let o = parse(&["--port", "9000", "--no-build", "--", "--verbose"]).unwrap();
        assert_eq!((o.port, o.build), (9000, false));
        assert_eq!(o.extra, ["--verbose"]);
        assert!(parse(&["--port"]).is_err());
        assert!(parse(&["--port", "99999"]).is_err());
        assert!(parse(&["--what"]).is_err());
    }
}
