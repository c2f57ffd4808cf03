import { describe, expect, it } from "vitest";
import { mintPlaybackToken, parseSigningKeys, verifyPlaybackToken } from "./tokens";

const k1 = parseSigningKeys("k1:first-secret-0123456789");
const rotated = parseSigningKeys("k2:second-secret-0123456789,k1:first-secret-0123456789");
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600;

describe("playback tokens", () => {
  it("verifies for its video until it expires", async () => {
    const exp = inAnHour();
    const token = await mintPlaybackToken(k1, "video-a", exp);
    expect(await verifyPlaybackToken(k1, "video-a", token)).toBe("valid");
    expect(await verifyPlaybackToken(k1, "video-a", token, (exp + 1) * 1000)).toBe("expired");
  });

  it("is refused for another video, tampered, or with an unknown key", async () => {
    const token = await mintPlaybackToken(k1, "video-a", inAnHour());
    expect(await verifyPlaybackToken(k1, "video-b", token)).toBe("invalid");
    const [kid, exp, sig] = token.split(".") as [string, string, string];
    expect(await verifyPlaybackToken(k1, "video-a", `${kid}.${Number(exp) + 999}.${sig}`)).toBe("invalid");
    const flipped = `${sig.startsWith("A") ? "B" : "A"}${sig.slice(1)}`;
    expect(await verifyPlaybackToken(k1, "video-a", `${kid}.${exp}.${flipped}`)).toBe("invalid");
    expect(await verifyPlaybackToken(parseSigningKeys("k9:other-secret-0123456789"), "video-a", token)).toBe("invalid");
    expect(await verifyPlaybackToken(k1, "video-a", "garbage")).toBe("invalid");
  });

  it("keeps old tokens valid across a key rotation, and signs new ones with the newest key", async () => {
    const old = await mintPlaybackToken(k1, "video-a", inAnHour());
    expect(await verifyPlaybackToken(rotated, "video-a", old)).toBe("valid");
    const fresh = await mintPlaybackToken(rotated, "video-a", inAnHour());
    expect(fresh.startsWith("k2.")).toBe(true);
    expect(await verifyPlaybackToken(k1, "video-a", fresh)).toBe("invalid");
  });

  it("ignores malformed or weak keys in the setting", () => {
    expect(
      parseSigningKeys("nokey, bad id:secret-0123456789abc,ok:short, good:long-enough-secret-1").map((k) => k.id),
    ).toEqual(["good"]);
  });
});
