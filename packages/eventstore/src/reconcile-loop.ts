import { SerialPass } from './serial-pass';

/**
 * A level-triggered loop that converges the world on what a service's projection says: each
 * pass (`reconcile`) compares the projection with what should be and issues only the
 * missing steps, so a crash between two steps is finished by the next pass. Passes run on
 * request (every projection advance, a timer) and never overlap.
 */
export abstract class ReconcileLoop {
  private readonly passes: SerialPass;

  /** `what` names the loop in the log line of a failed pass. */
  constructor(what: string, logger: { error(obj: object, msg: string): void }) {
    this.passes = new SerialPass(
      () => this.reconcile(),
      (err: unknown) => logger.error({ err }, `${what} failed`),
    );
  }

  /** Runs a pass now, or right after the one in progress (passes never overlap). */
  reconcileSoon(): void {
    this.passes.request();
  }

  abstract reconcile(): Promise<void>;
}
