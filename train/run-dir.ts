// Run directories as ultralytics' increment_path: `runs/<name>`, then `<name>2`, `<name>3`, ... unless
// exist_ok (reuse `runs/<name>`). A resumed run writes into the directory of its checkpoint.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export function incrementRunDir(project: string, name: string, existOk = false): string {
  const base = join(project, name);
  if (existOk || !existsSync(base)) {
    mkdirSync(base, { recursive: true });
    return base;
  }
  for (let n = 2; ; n++) {
    const p = `${base}${n}`;
    if (!existsSync(p)) {
      mkdirSync(p, { recursive: true });
      return p;
    }
  }
}
