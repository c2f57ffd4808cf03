/**
 * What a video shows while its versions are made: decided here and nowhere else. Every
 * transition of the lifecycle writes the video through {@link videoStateFor}.
 */
import type { JobStatus, VideoStatus } from "../db/schema";

export interface VideoState {
  status: VideoStatus;
  /** 0–100, or `"job"`: the job's own progress (the mean of its units'), copied as it is written. */
  progress: number | "job";
  errorCode: string | null;
  errorMessage: string | null;
}

export interface JobOutcome {
  status: JobStatus;
  errorCode?: string | null;
  errorMessage?: string | null;
}

/**
 * The video's state given the version it serves (null until one is ready) and the state of its
 * newest job. A video that already plays keeps playing while a new version is made, and keeps
 * its old version when the new one fails; a video without one shows the job's progress, or
 * fails with the job's reason.
 */
export function videoStateFor(servedVersion: string | null, job: JobOutcome): VideoState {
  const ready: VideoState = { status: "ready", progress: 100, errorCode: null, errorMessage: null };
  if (job.status === "completed" || servedVersion) return ready;
  switch (job.status) {
    case "running":
      return { status: "processing", progress: "job", errorCode: null, errorMessage: null };
    case "failed":
      return {
        status: "failed",
        progress: "job",
        errorCode: job.errorCode ?? "transcode_failed",
        errorMessage: job.errorMessage ?? "Transcoding failed",
      };
    // A cancelled job is replaced by the one a reprocess asked for, or goes with its deleted video.
    case "queued":
    case "cancelled":
      return { status: "queued", progress: 0, errorCode: null, errorMessage: null };
  }
}
