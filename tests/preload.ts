// Every test file's default timeout. bunfig.toml's [test] timeout is not read by this Bun (1.4.5: a 6 s test failed
// at 5 s with timeout = 180000 there), so a test that starts an engine failed on a busy machine; the preload's
// setDefaultTimeout is, for `bun test` run directly as for tests/run.ts.
import { setDefaultTimeout } from "bun:test";

setDefaultTimeout(180_000);
