/**
 * The internal job API, used only by the transcoder: the source (with Range), output files, and
 * job events. Opened by the job's token alone, never by user keys; not part of the public docs.
 */
import { createRouter } from "../../app/create-app";
import { type InternalEnv, requireJobToken, requireOutputFileName } from "./internal.auth";
import { handleJobEvent, putJobFile, readJobSource } from "./internal.handlers";

export const internalRouter = createRouter<InternalEnv>();
internalRouter.use("/internal/jobs/:job/*", requireJobToken);
internalRouter.get("/internal/jobs/:job/source", readJobSource);
internalRouter.put("/internal/jobs/:job/files/:name", requireOutputFileName, putJobFile);
internalRouter.post("/internal/jobs/:job/events", handleJobEvent);
