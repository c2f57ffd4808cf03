/**
 * The internal API, used only by runners: claims (a runner token), and per claimed unit its
 * source (with Range), output files (stored and read back) and events (the unit's token). Never opened by user keys;
 * not part of the public docs (docs/runner-protocol.md describes it).
 */
import { createRouter } from "../../app/create-app";
import {
  type RunnerEnv,
  requireOutputFileName,
  requireRunnerToken,
  requireRunningUnit,
  requireUnitToken,
  type UnitEnv,
} from "./internal.auth";
import { claimWork, handleUnitEvent, putUnitFile, readUnitFile, readUnitSource } from "./internal.handlers";

const runnerRoutes = createRouter<RunnerEnv>();
runnerRoutes.post("/internal/runners/claim", requireRunnerToken, claimWork);

const unitRoutes = createRouter<UnitEnv>();
unitRoutes.use("/internal/units/:unit/*", requireUnitToken);
unitRoutes.get("/internal/units/:unit/source", requireRunningUnit, readUnitSource);
unitRoutes.get("/internal/units/:unit/files/:name", requireRunningUnit, requireOutputFileName, readUnitFile);
unitRoutes.put("/internal/units/:unit/files/:name", requireRunningUnit, requireOutputFileName, putUnitFile);
unitRoutes.post("/internal/units/:unit/events", handleUnitEvent);

export const internalRouter = createRouter().route("/", runnerRoutes).route("/", unitRoutes);
