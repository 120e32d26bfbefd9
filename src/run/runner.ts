/**
 * Listr2 wiring: the renderer chosen by the CLI, all progress on the given (redacted) stream,
 * and cancellation through an AbortSignal instead of Listr's own signal handlers.
 */
import type { ListrTask } from 'listr2';
import { abortable } from '../util/abort.js';
import type { LogFields } from '../util/log-event.js';

export interface RunnerOptions {
  renderer: 'default' | 'simple' | 'verbose' | 'silent';
  /** Where progress goes (a stream that redacts); its `write` must be assignable (Listr2 takes it over). */
  output: ProgressOutput;
  signal?: AbortSignal;
  concurrent?: boolean | number;
  /** Structured events (--log-format json): the renderer is silent and each task reports here. */
  log?: (fields: LogFields) => void;
}

export interface ProgressOutput {
  write(chunk: unknown, ...rest: unknown[]): boolean;
  isTTY?: boolean;
  columns?: number | undefined;
  rows?: number | undefined;
}

export async function runTasks<Ctx extends object>(tasks: ListrTask<Ctx>[], ctx: Ctx, opts: RunnerOptions): Promise<Ctx> {
  // Loaded here: commands that run no tasks (validate, plan --offline) start without it.
  const { Listr, ListrLogger, ProcessOutput } = await import('listr2');
  const processOutput = new ProcessOutput(opts.output as NodeJS.WriteStream, opts.output as NodeJS.WriteStream, {
    dump: ['stdout', 'stderr'],
    leaveEmptyLine: false,
  });
  const log = opts.log;
  const wrapped = tasks.map((t) => ({
    ...t,
    task: t.task
      ? async (c: Ctx, task: Parameters<NonNullable<ListrTask<Ctx>['task']>>[1]) => {
          const title = typeof t.title === 'string' ? t.title : '';
          log?.({ event: 'task.started', message: title });
          try {
            const result = await abortable(Promise.resolve(t.task!(c, task)), opts.signal);
            // A task that returns subtasks is not done yet: its subtasks report themselves.
            if (!(result instanceof Listr)) log?.({ event: 'task.completed', message: String(task.title ?? title) });
            return result;
          } catch (e) {
            log?.({ level: 'error', event: 'task.failed', message: `${title}: ${e instanceof Error ? e.message : String(e)}` });
            throw e;
          }
        }
      : undefined,
  })) as ListrTask<Ctx>[];
  const list = new Listr<Ctx, 'default' | 'simple' | 'verbose' | 'silent', 'simple' | 'verbose'>(wrapped, {
    ctx,
    concurrent: opts.concurrent ?? false,
    exitOnError: true,
    registerSignalListeners: false,
    renderer: log ? 'silent' : opts.renderer,
    fallbackRenderer: opts.renderer === 'verbose' ? 'verbose' : 'simple',
    // Every renderer logs through a logger bound to our stream (progress never touches stdout).
    // The default renderer keeps finished databases visible with their last line (what was done).
    rendererOptions: {
      logger: new ListrLogger({ processOutput, useIcons: opts.renderer !== 'verbose' }),
      collapseSubtasks: false,
    } as never,
    fallbackRendererOptions: { logger: new ListrLogger({ processOutput, useIcons: opts.renderer !== 'verbose' }) } as never,
    forceColor: false,
  } as never);
  return list.run();
}
