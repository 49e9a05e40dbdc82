//! The edge suites (`tests/edge/`): the built package in workerd (the
//! example Worker with its KV namespace and Durable Object), Deno and Node,
//! against the devserver, all on 127.0.0.1. The Node test runner drives
//! them; the runtimes come from setup's edge-tools directory.

use super::{Ctx, Outcome, node_counts};
use crate::{cmd, devserver, setup};

/// Runs `node --test <file>` with `DEVSERVER_BIN`, `WORKERD_BIN` and `DENO_BIN`.
pub(super) fn node_suite(c: &Ctx<'_>, file: &str) -> Outcome {
    let devserver = match devserver::build(c.paths, &c.toolchain) {
        Ok(bin) => bin,
        Err(why) => return Outcome::check(Err(why)),
    };
    let mut node = c.toolchain.command("node");
    node.current_dir(&c.paths.root)
        .env("DEVSERVER_BIN", devserver)
        .env("WORKERD_BIN", setup::edge_tool(c.paths, "workerd"))
        .env("DENO_BIN", setup::edge_tool(c.paths, "deno"))
        .args(["--test", file]);
    Outcome::runner(cmd::tee(&mut node), node_counts)
}
