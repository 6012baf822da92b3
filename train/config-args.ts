// argv -> training config, the part the three `ssmv train` routes share (classify: cli/train.ts,
// YOLO: cli/train-yolo.ts, detect/segment: train/dense-cli.ts): --help prints the route's keys, a
// positional argument and a bad value are usage errors (exit code 2) that name the problem.
import { parseArgs, formatHelp, UsageError, type ArgSchema } from '../cli/args.ts';

export interface TrainArgs<C> {
  cfg: C;
  /** keys the user set explicitly (resume: the only ones that may differ from the saved config) */
  given: Set<string>;
}

/**
 * Parses `argv` against `schema`; null when --help was printed (usage line + keys). `helpHint` is the
 * command the positional-argument error points to (it may depend on the parsed values, e.g. task=).
 */
export function parseTrainArgs<C>(
  argv: readonly string[], schema: ArgSchema, usage: string, helpHint: string | ((values: Record<string, unknown>) => string),
  configFrom: (values: Record<string, unknown>) => C,
): TrainArgs<C> | null {
  const args = parseArgs(argv, schema, 'train');
  if (args.help) {
    process.stdout.write(formatHelp('train', usage, schema));
    return null;
  }
  if (args.positionals.length) {
    const hint = typeof helpHint === 'string' ? helpHint : helpHint(args.values);
    throw new UsageError(`unexpected argument '${args.positionals[0]}': keys are key=value (see ${hint})`);
  }
  try {
    return { cfg: configFrom(args.values), given: args.given };
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
