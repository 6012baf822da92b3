// Ctrl-C: the first SIGINT asks the loop to stop after the current update; the checkpoint callback
// then saves `last` and the run exits cleanly. A second SIGINT exits at once (code 130); checkpoint
// files are renamed in one synchronous run, so even then no half-written checkpoint replaces one.
import type { Callback, Trainer } from '../trainer.ts';

export class InterruptCallback implements Callback {
  readonly name = 'interrupt';
  private handler: (() => void) | null = null;
  private count = 0;

  constructor(private readonly out: NodeJS.WritableStream = process.stderr, private readonly where = 'last') {}

  onTrainStart(tr: Trainer): void {
    this.handler = () => {
      if (++this.count === 1) {
        this.out.write(`\nInterrupted: finishing this update and saving ${this.where} (press Ctrl-C again to exit now)\n`);
        tr.requestStop('interrupted', 'interrupted by the user (Ctrl-C)');
      } else {
        this.out.write('\nExiting now (second Ctrl-C); the previous checkpoint is intact.\n');
        process.exit(130);
      }
    };
    process.on('SIGINT', this.handler);
  }

  onTrainEnd(): void {
    if (this.handler) process.off('SIGINT', this.handler);
    this.handler = null;
  }
}
