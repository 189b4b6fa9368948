/**
 * The flash log and the anti-rollback state of the command line, kept in files (docs/headless.md,
 * "Files"). The flash log file is always a complete JSON Lines export (src/audit/export.ts), so
 * `webflash log verify FILE` checks it as it lies on disk; each append rewrites it through a
 * temporary file and a rename, so a crash leaves the old or the new log, never half of one. The
 * rollback state is a small JSON file beside it. One process writes a log file at a time.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { exportRaw, readExport } from '../../audit/index.ts';
import { AuditConflictError, type AuditStore } from '../../audit/store.ts';
import type { AuditEntry } from '../../audit/entry.ts';
import type { RollbackRecord, RollbackStore } from '../../bundle/rollback-store.ts';
import { UsageError } from '../../core/errors.ts';

async function writeAtomically(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

/** An AuditStore in one JSON Lines export file. */
export class FileAuditStore implements AuditStore {
  constructor(readonly path: string) {}

  /**
   * Every entry, after checking the file's chain.
   * @throws {UsageError} when the file is not an intact flash log.
   */
  async all(): Promise<readonly AuditEntry[]> {
    if (!existsSync(this.path)) return [];
    const reading = readExport(new Uint8Array(await readFile(this.path)));
    if (!reading.verdict.ok) {
      throw new UsageError(
        `The flash log ${this.path} is damaged at entry ${reading.verdict.index}: ${reading.verdict.message}`,
        { hints: ['Keep the file for an audit and start a new log with --log NEWFILE.'] },
      );
    }
    return reading.entries;
  }

  async last(): Promise<AuditEntry | undefined> {
    return (await this.all()).at(-1);
  }

  async add(entry: AuditEntry): Promise<void> {
    const entries = await this.all();
    if (entry.seq !== entries.length) throw new AuditConflictError(entry.seq);
    await writeAtomically(this.path, exportRaw([...entries, entry], 'jsonl'));
  }
}

interface RollbackFile {
  format: 'webflash-rollback-state';
  version: 1;
  rootVersion?: number;
  products: Record<string, RollbackRecord>;
}

/** Where the rollback state lives by default: `webflash-rollback.json` beside the flash log. */
export function rollbackPathFor(logPath: string): string {
  return join(dirname(logPath), 'webflash-rollback.json');
}

/** A RollbackStore in one JSON file. */
export class FileRollbackStore implements RollbackStore {
  constructor(readonly path: string) {}

  private async load(): Promise<RollbackFile> {
    if (!existsSync(this.path)) {
      return { format: 'webflash-rollback-state', version: 1, products: {} };
    }
    const data = JSON.parse(await readFile(this.path, 'utf8')) as Partial<RollbackFile>;
    if (data.format !== 'webflash-rollback-state' || typeof data.products !== 'object') {
      throw new UsageError(`${this.path} is not a webflash rollback state file.`);
    }
    return data as RollbackFile;
  }

  private async save(data: RollbackFile): Promise<void> {
    await writeAtomically(this.path, `${JSON.stringify(data, null, 2)}\n`);
  }

  async get(productId: string): Promise<RollbackRecord | undefined> {
    const data = await this.load();
    return Object.hasOwn(data.products, productId) ? data.products[productId] : undefined;
  }

  async put(productId: string, record: RollbackRecord): Promise<void> {
    const data = await this.load();
    data.products[productId] = { ...record };
    await this.save(data);
  }

  async getRootVersion(): Promise<number | undefined> {
    return (await this.load()).rootVersion;
  }

  async putRootVersion(version: number): Promise<void> {
    const data = await this.load();
    data.rootVersion = version;
    await this.save(data);
  }
}
