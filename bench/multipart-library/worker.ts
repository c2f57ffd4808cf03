/**
 * The Worker with one change, for `npm run bench -- uploads`: the classic endpoint reads its form
 * through @remix-run/multipart-parser instead of worker/uploads/multipart-form.ts. Everything
 * else (the upload session, the policy, the bindings of wrangler.toml) is the real app's, so the
 * two runs differ only in the form reader.
 *
 * The library hands out a part once its last byte has arrived, with its content as the list of
 * chunks it received: a file part is held whole in the isolate until the form moves past it.
 */
import { MultipartParseError, parseMultipartStream } from "@remix-run/multipart-parser";
import { createApp } from "../../worker/app/create-app";
import worker from "../../worker/index";
import { requireUser } from "../../worker/middleware/auth";
import { classicUploadWith, type FormReader } from "../../worker/routes/uploads/uploads.handlers";
import { type FormPart, MultipartError } from "../../worker/uploads/multipart-form";

export * from "../../worker/index";

/** Large enough for any upload the endpoint takes (MAX_UPLOAD_SIZE decides, as in the real app). */
const NO_LIMIT = Number.MAX_SAFE_INTEGER;

const libraryForm: FormReader = async function* (body, boundary): AsyncGenerator<FormPart> {
  try {
    const parts = parseMultipartStream(body, { boundary, maxFileSize: NO_LIMIT, maxTotalSize: NO_LIMIT });
    for await (const part of parts) {
      const content = part.content;
      yield {
        name: part.name ?? "",
        filename: part.filename ?? null,
        contentType: part.headers["content-type"] ?? null,
        body: (async function* () {
          yield* content;
        })(),
        async text(limit = 64 * 1024) {
          if (part.size > limit) throw new MultipartError(`The field ${part.name} is longer than ${limit} bytes`);
          return part.text;
        },
        async drain() {},
      };
    }
  } catch (err) {
    throw err instanceof MultipartParseError ? new MultipartError(err.message) : err;
  }
};

const app = createApp();
app.post("/api/videos/upload", requireUser(), classicUploadWith(libraryForm));
app.all("*", (c) => worker.fetch(c.req.raw, c.env, c.executionCtx));

export default { ...worker, fetch: app.fetch } satisfies ExportedHandler<Env>;
