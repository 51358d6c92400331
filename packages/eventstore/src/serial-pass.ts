/**
 * Runs an async pass now, or once more right after the one in progress: passes never
 * overlap, and every request made during a pass is served by one more pass after it (a
 * level-triggered loop reads the whole state each time, so one is enough).
 */
export class SerialPass {
  private running: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly pass: () => Promise<void>,
    /** a failed pass is reported here; the next request runs a new one */
    private readonly onError: (err: unknown) => void,
  ) {}

  request(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.pass()
      .catch(this.onError)
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.request();
        }
      });
  }

  get busy(): boolean {
    return this.running !== undefined;
  }
}
