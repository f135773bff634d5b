/**
 * The live stream's wire messages. This file imports nothing, so the browser bundle (`dashboard/src`) reads these
 * same declarations: the server and the page cannot drift apart on the shape of an event.
 */

/** Power samples of one equipment from one ingested batch, as streamed to the dashboard. */
export interface LivePowerMessage {
  environment: string;
  equipment: string;
  scenario: string;
  step: string;
  /** `[timeNs, watts]` pairs in arrival order. ns are JSON numbers (display precision is enough). */
  samples: Array<[number, number]>;
}

/** A scenario change, as streamed to the dashboard. */
export interface LiveSessionMessage {
  environment: string;
  scenario: string;
  step: string;
  started: boolean;
  timeNs: number;
}

/** What the hub knows about one environment: its last scenario change and when data last arrived. */
export interface LiveEnvironmentState {
  environment: string;
  /** Last scenario change seen by this process, if any. */
  session?: LiveSessionMessage;
  /** Equipments that sent power since this process started. */
  equipments: string[];
  /** ns of the newest power sample seen, if any. */
  lastSampleNs?: number;
}

/**
 * Environments as the stream without an environment sends them: all of them when it opens, then each new one as
 * it first sends data (an environment that only sends power has no session event to announce it).
 */
export interface LiveEnvironmentsMessage {
  environments: LiveEnvironmentState[];
}

/** What a new subscriber receives first: recent power samples of the environment and its state. */
export interface LiveBacklog {
  state: LiveEnvironmentState;
  power: LivePowerMessage[];
  /** The server's clock when the backlog was sent (ns since the epoch): the page's chart window ends there. */
  nowNs: number;
}
