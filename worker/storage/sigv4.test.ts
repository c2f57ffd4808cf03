/**
 * Signature V4 checked against AWS's published examples. The test S3 server accepts any
 * signature, so these vectors are what proves the signing right: the signer the S3 backend uses
 * (aws4fetch) on cases of AWS's Signature V4 test suite (v4/get-vanilla,
 * get-vanilla-query-order-key-case and post-x-www-form-urlencoded, with their published canonical
 * requests and signatures), and the S3 backend's own presigned URLs and request signing on the
 * examples of the S3 documentation ("Authenticating Requests: Using Query Parameters" and
 * "Using the Authorization Header").
 */
import { AwsV4Signer } from "aws4fetch";
import { describe, expect, it } from "vitest";
import { createS3Store } from "./s3";

const SUITE = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
  region: "us-east-1",
  service: "service",
  datetime: "20150830T123600Z",
};

const hex = (buffer: ArrayBuffer) => [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
const sha256 = async (text: string) => hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));

describe("the Signature V4 test suite", () => {
  it("get-vanilla: header and query signatures", async () => {
    const header = new AwsV4Signer({ ...SUITE, url: "https://example.amazonaws.com/", method: "GET" });
    expect(await header.canonicalString()).toBe(
      [
        "GET",
        "/",
        "",
        "host:example.amazonaws.com",
        "x-amz-date:20150830T123600Z",
        "",
        "host;x-amz-date",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      ].join("\n"),
    );
    expect(await header.stringToSign()).toBe(
      [
        "AWS4-HMAC-SHA256",
        "20150830T123600Z",
        "20150830/us-east-1/service/aws4_request",
        "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
      ].join("\n"),
    );
    expect(await header.authHeader()).toBe(
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
    );

    const query = new AwsV4Signer({
      ...SUITE,
      url: "https://example.amazonaws.com/?X-Amz-Expires=3600",
      method: "GET",
      signQuery: true,
    });
    expect(await query.signature()).toBe("e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d");
  });

  it("get-vanilla-query-order-key-case: parameters are sorted before signing", async () => {
    const url = "https://example.amazonaws.com/?Param2=value2&Param1=value1";
    const header = new AwsV4Signer({ ...SUITE, url, method: "GET" });
    expect((await header.canonicalString()).split("\n")[2]).toBe("Param1=value1&Param2=value2");
    expect(await header.signature()).toBe("b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");

    const query = new AwsV4Signer({ ...SUITE, url: `${url}&X-Amz-Expires=3600`, method: "GET", signQuery: true });
    expect(await query.signature()).toBe("86012e2c9ad4d77369f5d81c11f75158aae4f895a085212cc6d3f923d300bed5");
  });

  it("post-x-www-form-urlencoded: a signed body and signed content headers", async () => {
    const body = "Param1=value1";
    const bodyHash = await sha256(body);
    expect(bodyHash).toBe("9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e");
    const headers = { "Content-Type": "application/x-www-form-urlencoded", "Content-Length": "13" };
    const header = new AwsV4Signer({
      ...SUITE,
      url: "https://example.amazonaws.com/",
      method: "POST",
      headers: { ...headers, "X-Amz-Content-Sha256": bodyHash },
      body,
      allHeaders: true,
    });
    expect(await header.canonicalString()).toBe(
      [
        "POST",
        "/",
        "",
        "content-length:13",
        "content-type:application/x-www-form-urlencoded",
        "host:example.amazonaws.com",
        `x-amz-content-sha256:${bodyHash}`,
        "x-amz-date:20150830T123600Z",
        "",
        "content-length;content-type;host;x-amz-content-sha256;x-amz-date",
        bodyHash,
      ].join("\n"),
    );
    expect(await header.stringToSign()).toBe(
      [
        "AWS4-HMAC-SHA256",
        "20150830T123600Z",
        "20150830/us-east-1/service/aws4_request",
        "b1edd1d03544c25390e32085d55b57acc9a3961bb59415ff86c45c3d89d16cfb",
      ].join("\n"),
    );
    expect(await header.signature()).toBe("d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b");

    const query = new AwsV4Signer({
      ...SUITE,
      url: "https://example.amazonaws.com/?X-Amz-Expires=3600",
      method: "POST",
      headers,
      body,
      signQuery: true,
      allHeaders: true,
    });
    expect(await query.signature()).toBe("89a40deed0f26f9461242825a082d2222717248abc7ab41f552ad84a94ad46e9");
  });
});

describe("the S3 documentation's examples", () => {
  const example = {
    endpoint: "https://s3.amazonaws.com",
    region: "us-east-1",
    bucket: "examplebucket",
    accessKeyId: "AKIAIOSFODNN7EXAMPLE",
    secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    forcePathStyle: false,
    now: () => new Date("2013-05-24T00:00:00Z"),
  };

  it("a presigned GET of test.txt for 86400 seconds, made by the S3 backend", async () => {
    const url = new URL(await createS3Store(example).presignGet("test.txt", 86_400));
    expect(`${url.origin}${url.pathname}`).toBe("https://examplebucket.s3.amazonaws.com/test.txt");
    expect(Object.fromEntries(url.searchParams)).toEqual({
      "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
      "X-Amz-Credential": "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request",
      "X-Amz-Date": "20130524T000000Z",
      "X-Amz-Expires": "86400",
      "X-Amz-SignedHeaders": "host",
      "X-Amz-Signature": "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
    });
  });

  it("a GET of the first ten bytes of test.txt, signed in the Authorization header", async () => {
    const signer = new AwsV4Signer({
      url: "https://examplebucket.s3.amazonaws.com/test.txt",
      method: "GET",
      headers: {
        Range: "bytes=0-9",
        "X-Amz-Content-Sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      },
      accessKeyId: example.accessKeyId,
      secretAccessKey: example.secretAccessKey,
      region: "us-east-1",
      service: "s3",
      datetime: "20130524T000000Z",
      allHeaders: true,
    });
    expect(await signer.stringToSign()).toBe(
      [
        "AWS4-HMAC-SHA256",
        "20130524T000000Z",
        "20130524/us-east-1/s3/aws4_request",
        "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972",
      ].join("\n"),
    );
    expect(await signer.signature()).toBe("f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  });

  it("the S3 backend's own requests carry a signature over host, payload marker and date", async () => {
    let seen: Request | undefined;
    const original = globalThis.fetch;
    globalThis.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
      seen = new Request(input, init);
      return new Response(null, { status: 404 });
    };
    try {
      expect(await createS3Store(example).head("test.txt")).toBeNull();
    } finally {
      globalThis.fetch = original;
    }
    expect(seen?.url).toBe("https://examplebucket.s3.amazonaws.com/test.txt");
    expect(seen?.headers.get("x-amz-content-sha256")).toBe("UNSIGNED-PAYLOAD");
    expect(seen?.headers.get("x-amz-date")).toBe("20130524T000000Z");
    // The same request signed independently, from the parts the documentation's algorithm names.
    const expected = new AwsV4Signer({
      url: "https://examplebucket.s3.amazonaws.com/test.txt",
      method: "HEAD",
      headers: { "X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD" },
      accessKeyId: example.accessKeyId,
      secretAccessKey: example.secretAccessKey,
      region: "us-east-1",
      service: "s3",
      datetime: "20130524T000000Z",
    });
    expect(seen?.headers.get("authorization")).toBe(await expected.authHeader());
    expect(seen?.headers.get("authorization")).toContain("SignedHeaders=host;x-amz-content-sha256;x-amz-date,");
  });
});
