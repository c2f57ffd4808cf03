import { describe, expect, it } from "vitest";
import { literalAddressClass, publicUrlProblem } from "./public-host";

/** The host as the URL parser leaves it, which is what the rules judge. */
const classOf = (host: string) => literalAddressClass(new URL(`http://${host}/`).hostname);

describe("literal addresses that are not public", () => {
  it.each([
    ["127.0.0.1", "loopback"],
    ["127.255.0.9", "loopback"],
    ["127.1", "loopback"],
    ["2130706433", "loopback"],
    ["0x7f.0.0.1", "loopback"],
    ["0177.0.0.1", "loopback"],
    ["127.0.0.1.", "loopback"],
    ["0.0.0.0", "unspecified"],
    ["10.1.2.3", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["192.168.1.20", "private"],
    ["100.64.0.1", "shared (CGNAT)"],
    ["100.127.255.254", "shared (CGNAT)"],
    ["169.254.169.254", "link-local"],
    ["224.0.0.251", "multicast"],
    ["239.255.255.250", "multicast"],
    ["240.0.0.1", "reserved"],
    ["255.255.255.255", "reserved"],
    ["192.0.0.8", "reserved"],
    ["198.18.0.1", "reserved"],
    ["[::1]", "loopback"],
    ["[::]", "unspecified"],
    ["[0:0:0:0:0:0:0:1]", "loopback"],
    ["[::ffff:127.0.0.1]", "loopback"],
    ["[::ffff:7f00:1]", "loopback"],
    ["[::ffff:10.0.0.1]", "private"],
    ["[::ffff:169.254.169.254]", "link-local"],
    ["[::10.0.0.1]", "reserved"],
    ["[64:ff9b::10.0.0.1]", "private"],
    ["[64:ff9b:1::1]", "private"],
    ["[2002:a00:1::1]", "private"],
    ["[fc00::1]", "unique-local"],
    ["[fd12:3456::1]", "unique-local"],
    ["[fe80::1]", "link-local"],
    ["[febf::1]", "link-local"],
    ["[fec0::1]", "private"],
    ["[ff02::1]", "multicast"],
    ["[100::1]", "reserved"],
    ["[4000::1]", "reserved"],
  ])("%s is %s", (host, kind) => {
    expect(classOf(host)).toBe(kind);
  });

  it.each([
    "8.8.8.8",
    "1.1.1.1",
    "172.32.0.1",
    "100.128.0.1",
    "192.169.0.1",
    "169.255.0.1",
    "223.255.255.255",
    "[2606:4700:4700::1111]",
    "[2a00:1450:4001::200e]",
    "[::ffff:8.8.8.8]",
    "[64:ff9b::808:808]",
    "[2002:808:808::1]",
    "media.example.com",
    "10.example.com",
  ])("%s is public (or a name)", (host) => {
    expect(classOf(host)).toBeNull();
  });
});

describe("publicUrlProblem", () => {
  const problem = (url: string, allowPrivate = false) => publicUrlProblem(new URL(url), { allowPrivate });

  it.each([
    ["file:///etc/passwd", /^Only http and https URLs can be fetched, not file$/],
    ["ftp://media.example.com/a.mp4", /not ftp$/],
    ["data:video/mp4;base64,AAAA", /not data$/],
    ["gopher://media.example.com/", /not gopher$/],
    ["https://user:secret@media.example.com/a.mp4", /credentials/],
    ["http://localhost:8787/a.mp4", /^localhost is this machine/],
    ["http://LOCALHOST./a.mp4", /this machine/],
    ["http://api.localhost/a.mp4", /^api.localhost is this machine/],
    ["http://127.0.0.1/a.mp4", /^127.0.0.1 is a loopback address/],
    ["http://[fd00::1]/a.mp4", /^\[fd00::1\] is a unique-local address/],
  ])("refuses %s", (url, message) => {
    expect(problem(url)).toMatch(message);
  });

  it("lets a public URL through, and with allowPrivate a local one (but never another scheme)", () => {
    expect(problem("https://media.example.com/a.mp4")).toBeNull();
    expect(problem("http://203.0.113.7:8080/a.mp4")).toBeNull();
    expect(problem("http://127.0.0.1:9000/a.mp4", true)).toBeNull();
    expect(problem("http://localhost/a.mp4", true)).toBeNull();
    expect(problem("file:///etc/passwd", true)).not.toBeNull();
  });
});
