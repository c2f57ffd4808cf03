import { describe, expect, it } from "vitest";
import { mintUnitToken, verifyUnitToken } from "./unit-token";

const secret = "s3cret-for-tests";
const future = () => Math.floor(Date.now() / 1000) + 600;

describe("unit tokens", () => {
  it("round-trips the unit, attempt, runner and expiry", async () => {
    const token = await mintUnitToken(secret, { unitId: "unit-1", attempt: 2, runnerId: "r1", expiresAt: future() });
    expect(await verifyUnitToken(secret, token)).toMatchObject({ unitId: "unit-1", attempt: 2, runnerId: "r1" });
  });

  it("refuses an expired token", async () => {
    const token = await mintUnitToken(secret, { unitId: "unit-1", attempt: 1, runnerId: "r1", expiresAt: future() });
    expect(await verifyUnitToken(secret, token, (future() + 1) * 1000)).toBeNull();
  });

  it("refuses a token signed with another secret", async () => {
    const token = await mintUnitToken("other", { unitId: "unit-1", attempt: 1, runnerId: "r1", expiresAt: future() });
    expect(await verifyUnitToken(secret, token)).toBeNull();
  });

  it("refuses a tampered payload", async () => {
    const token = await mintUnitToken(secret, { unitId: "unit-1", attempt: 1, runnerId: "r1", expiresAt: future() });
    const [, sig] = token.split(".");
    const forged = btoa(JSON.stringify({ u: "unit-2", a: 1, r: "r1", e: future() })).replace(/=+$/, "");
    expect(await verifyUnitToken(secret, `${forged}.${sig}`)).toBeNull();
  });

  it.each(["", "a", "a.b.c", "!!.??", `${"x".repeat(2000)}.y`])("refuses the malformed token %j", async (t) => {
    expect(await verifyUnitToken(secret, t)).toBeNull();
  });
});
