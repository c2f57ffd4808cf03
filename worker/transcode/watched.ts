/**
 * A viewer waits for a segment of a video that plays while processing, and the segment is not
 * stored yet: which unit of the chunked encode makes it, and that unit, if it still waits for a
 * runner, moved to the front of the claim order ({@link WATCHED_PRIORITY}). A seek far ahead
 * thus gets its chunk encoded next instead of in turn.
 */
import { and, eq, lt, sql } from "drizzle-orm";
import { ChunkingInputSchema, MEDIA_SEGMENT_NAME, ProbeResultSchema } from "../../shared/protocol";
import type { Logger } from "../app/logger";
import type { Database } from "../db/client";
import { workUnits } from "../db/schema";
import { WATCHED_PRIORITY } from "./scheduler";

/** Seconds of a segment, as the encoder cuts them. */
const SEGMENT_SECONDS = 4;

export interface ChunkLayout {
  firstChunkSeconds: number;
  chunkSeconds: number;
  /** Chunk units of the job (the last one runs to the end of the video). */
  chunks: number;
  /** Representation ids that are audio (made by the audio unit, but for its start). */
  audioIds: ReadonlySet<string>;
}

/** The unit that makes a media segment: the audio unit, or the chunk holding the segment's start. */
export function unitMakingSegment(
  layout: ChunkLayout,
  file: string,
): { kind: "audio" } | { kind: "chunk"; sequence: number } | null {
  const m = MEDIA_SEGMENT_NAME.exec(file);
  if (!m) return null;
  if (layout.audioIds.has(m[1] as string)) return { kind: "audio" };
  const start = (Number(m[2]) - 1) * SEGMENT_SECONDS;
  if (start < layout.firstChunkSeconds) return { kind: "chunk", sequence: 0 };
  const later = 1 + Math.floor((start - layout.firstChunkSeconds) / layout.chunkSeconds);
  return { kind: "chunk", sequence: Math.min(layout.chunks - 1, later) };
}

interface ProbeRow {
  input: string;
  result: string | null;
  chunks: number;
}

/** The job's chunking and Representations, from its probe (its input names the chunk lengths, its result the ladder). */
async function layoutOf(db: Database, jobId: string): Promise<ChunkLayout | null> {
  const [row] = await db.all<ProbeRow>(sql`
    SELECT p.input AS input, p.result AS result,
      (SELECT count(*) FROM work_units c WHERE c.job_id = p.job_id AND c.kind = 'chunk') AS chunks
    FROM work_units p WHERE p.job_id = ${jobId} AND p.kind = 'probe'`);
  const chunking = ChunkingInputSchema.safeParse(JSON.parse(row?.input ?? "null"));
  const probe = ProbeResultSchema.safeParse(JSON.parse(row?.result ?? "null"));
  if (!row || !chunking.success || !probe.success) return null;
  const { audio, rungs } = probe.data;
  return {
    ...chunking.data,
    chunks: Number(row.chunks),
    audioIds: new Set(audio && rungs !== undefined ? [String(rungs)] : []),
  };
}

/**
 * A viewer asked for `file` of the job's version and it is not stored: the unit making it goes
 * first if it is pending. Returns that unit's id when it was moved, null otherwise.
 */
export async function prioritiseForViewer(
  deps: { db: Database; logger: Logger },
  jobId: string,
  file: string,
): Promise<string | null> {
  const layout = await layoutOf(deps.db, jobId);
  const target = layout ? unitMakingSegment(layout, file) : null;
  if (!target) return null;
  const [moved] = await deps.db
    .update(workUnits)
    .set({ priority: WATCHED_PRIORITY })
    .where(
      and(
        eq(workUnits.jobId, jobId),
        eq(workUnits.kind, target.kind),
        eq(workUnits.sequence, target.kind === "chunk" ? target.sequence : 0),
        eq(workUnits.status, "pending"),
        lt(workUnits.priority, WATCHED_PRIORITY),
      ),
    )
    .returning({ id: workUnits.id, kind: workUnits.kind, sequence: workUnits.sequence, videoId: workUnits.videoId });
  if (!moved) return null;
  deps.logger.info("unit prioritised for a viewer", {
    unitId: moved.id,
    jobId,
    videoId: moved.videoId,
    kind: moved.kind,
    sequence: moved.sequence,
    segment: file,
  });
  return moved.id;
}
