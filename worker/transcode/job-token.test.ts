import { describe, expect, it } from "vitest";
import { mintJobToken, verifyJobToken } from "./job-token";

const secret = "s3cret-for-tests";
const future = () => Math.floor(Date.now() / 1000) + 600;

describe("job tokens", () => {
  it("round-trips the job, attempt and expiry", async () => {
    const token = await mintJobToken(secret, { jobId: "job-1", attempt: 2, expiresAt: future() });
    expect(await verifyJobToken(secret, token)).toMatchObject({ jobId: "job-1", attempt: 2 });
  });

  it("refuses an expired token", async () => {
    const token = await mintJobToken(secret, { jobId: "job-1", attempt: 1, expiresAt: future() });
    expect(await verifyJobToken(secret, token, (future() + 1) * 1000)).toBeNull();
  });

  it("refuses a token signed with another secret", async () => {
    const token = await mintJobToken("other", { jobId: "job-1", attempt: 1, expiresAt: future() });
    expect(await verifyJobToken(secret, token)).toBeNull();
  });

  it("refuses a tampered payload", async () => {
    const token = await mintJobToken(secret, { jobId: "job-1", attempt: 1, expiresAt: future() });
    const [, sig] = token.split(".");
    const forged = btoa(JSON.stringify({ j: "job-2", a: 1, e: future() })).replace(/=+$/, "");
    expect(await verifyJobToken(secret, `${forged}.${sig}`)).toBeNull();
  });

  it.each(["", "a", "a.b.c", "!!.??", `${"x".repeat(2000)}.y`])("refuses the malformed token %j", async (t) => {
    expect(await verifyJobToken(secret, t)).toBeNull();
  });
});
