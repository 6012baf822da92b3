// The run's log file (`train.log`): timestamped lines, appended; optionally echoed to a stream.
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export class RunLog {
  constructor(readonly path: string | null, private readonly echo: NodeJS.WritableStream | null = null) {
    if (path) mkdirSync(dirname(path), { recursive: true });
  }

  info(msg: string): void {
    if (this.path) appendFileSync(this.path, msg.split('\n').map((l) => `${new Date().toISOString()} ${l}`).join('\n') + '\n');
    this.echo?.write(msg + '\n');
  }

  /** to the file only (the console shows it another way, e.g. the progress bar) */
  file(msg: string): void {
    if (this.path) appendFileSync(this.path, msg.split('\n').map((l) => `${new Date().toISOString()} ${l}`).join('\n') + '\n');
  }
}
