/**
 * .github/scripts/federated-token.sh against a local stand-in for GitHub's OIDC token endpoint, with the real
 * curl: a renewal that fails — an error status, an empty or malformed answer, no answer at all — keeps the
 * previous token, whole, and the file is never seen empty or partial by the reader (kubelogin).
 */
import { strict as assert } from "node:assert";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { PROJECT_DIR } from "../support/stacks";

const SCRIPT = path.join(PROJECT_DIR, ".github", "scripts", "federated-token.sh");
const TOKEN_1 = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnMQ";
const TOKEN_2 = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIyIn0.c2lnMg";

type Answer = "token1" | "token2" | "500" | "empty" | "no-value" | "hang";
interface Seen {
  readonly authorization: string | undefined;
  readonly url: string;
}

/** Answers each request with the next entry of `answers` (the last one repeats). */
class FakeIssuer {
  private server: Server | undefined;
  private hung: ServerResponse[] = [];
  readonly seen: Seen[] = [];
  constructor(private readonly answers: Answer[]) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => this.answer(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/token?api-version=2.0`;
  }

  private answer(req: IncomingMessage, res: ServerResponse): void {
    this.seen.push({ authorization: req.headers.authorization, url: req.url ?? "" });
    const next = this.answers.length > 1 ? this.answers.shift()! : this.answers[0]!;
    const json = (body: string): void =>
      void res.writeHead(200, { "content-type": "application/json" }).end(body);
    if (next === "token1") json(JSON.stringify({ value: TOKEN_1 }));
    else if (next === "token2") json(JSON.stringify({ value: TOKEN_2 }));
    else if (next === "500") res.writeHead(500).end("oops");
    else if (next === "empty") json("");
    else if (next === "no-value") json(JSON.stringify({ count: 1 }));
    else this.hung.push(res);
  }

  async stop(): Promise<void> {
    this.hung.forEach((r) => r.destroy());
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }
}

function env(url: string, file: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    AZURE_FEDERATED_TOKEN_FILE: file,
    ACTIONS_ID_TOKEN_REQUEST_URL: url,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: "the-job-request-token",
    FEDERATED_TOKEN_TIMEOUT: "2",
    FEDERATED_TOKEN_RENEW_SECONDS: "0.2",
    FEDERATED_TOKEN_RETRY_SECONDS: "0.2",
  };
}

/** Runs the script once; resolves with its exit code, stderr and how long it took. */
function once(e: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn("bash", [SCRIPT], { env: e, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("close", (code) => resolve({ code, stderr, ms: Date.now() - started }));
  });
}

describe("federated-token.sh: a failed renewal keeps the token it had", function () {
  this.timeout(120_000);
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "fedtoken-"));
    file = path.join(dir, "azure-federated-token");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("success: the token, asked with the job's request token for Azure's audience, in a file only the job's user reads", async () => {
    const issuer = new FakeIssuer(["token1"]);
    const url = await issuer.start();
    try {
      const r = await once(env(url, file));
      assert.equal(r.code, 0, r.stderr);
      assert.equal(readFileSync(file, "utf8"), TOKEN_1);
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.deepStrictEqual(issuer.seen, [
        {
          authorization: "bearer the-job-request-token",
          url: "/token?api-version=2.0&audience=api://AzureADTokenExchange",
        },
      ]);
      assert.deepStrictEqual(readdirSync(dir), ["azure-federated-token"]);
    } finally {
      await issuer.stop();
    }
  });

  const failures: Array<[Answer, RegExp]> = [
    ["500", /renewal failed: the token request did not succeed within 2s; the previous token is kept/],
    ["empty", /renewal failed: the answer holds no token \(0 bytes\); the previous token is kept/],
    ["no-value", /renewal failed: the answer holds no token \(11 bytes\); the previous token is kept/],
    ["hang", /renewal failed: the token request did not succeed within 2s; the previous token is kept/],
  ];
  for (const [answer, logged] of failures) {
    it(`${answer}: exit 1, the previous token kept as it was, why in the log, no temporary file left`, async () => {
      writeFileSync(file, TOKEN_1, { mode: 0o600 });
      const issuer = new FakeIssuer([answer]);
      const url = await issuer.start();
      try {
        const r = await once(env(url, file));
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, logged);
        assert.equal(readFileSync(file, "utf8"), TOKEN_1);
        assert.deepStrictEqual(readdirSync(dir), ["azure-federated-token"]);
        // curl --max-time bounds a request that gets no answer (2 s here), with room for a loaded machine.
        if (answer === "hang") assert.ok(r.ms >= 2000 && r.ms < 10_000, `${r.ms} ms`);
      } finally {
        await issuer.stop();
      }
    });
  }

  it("--loop: through failed renewals the file only ever holds a whole token, then the renewed one", async () => {
    const issuer = new FakeIssuer(["token1", "500", "empty", "hang", "no-value", "token2"]);
    const url = await issuer.start();
    let loop: ChildProcess | undefined;
    try {
      loop = spawn("bash", [SCRIPT, "--loop"], { env: env(url, file), stdio: "ignore" });
      const contents: string[] = [];
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline && contents[contents.length - 1] !== TOKEN_2) {
        let now: string;
        try {
          now = readFileSync(file, "utf8");
        } catch {
          now = "(no file)";
        }
        if (contents[contents.length - 1] !== now) contents.push(now);
        await new Promise((r) => setTimeout(r, 20));
      }
      // Before the first token there is no file; after it, only whole tokens.
      assert.deepStrictEqual(
        contents.filter((c) => c !== "(no file)"),
        [TOKEN_1, TOKEN_2],
      );
      assert.equal(issuer.seen.length, 6);
    } finally {
      if (loop?.pid !== undefined) process.kill(loop.pid, "SIGTERM");
      await issuer.stop();
    }
  });
});
