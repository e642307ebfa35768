import type { Executor, ProviderTemplatesTable } from '../../store/types.js';

/** Inserts a custom template row (the primary key `(app_id, id)` rejects a duplicate). */
export async function insertTemplate(ex: Executor, row: ProviderTemplatesTable): Promise<void> {
  await ex.insertInto('provider_templates').values(row).execute();
}

/** One custom template of an app. */
export async function findTemplate(
  ex: Executor,
  appId: string,
  id: string,
): Promise<ProviderTemplatesTable | undefined> {
  return ex
    .selectFrom('provider_templates')
    .selectAll()
    .where('app_id', '=', appId)
    .where('id', '=', id)
    .executeTakeFirst();
}

/** A page of an app's custom templates, by id, and their total. */
export async function listTemplates(
  ex: Executor,
  appId: string,
  page: { limit: number; offset: number },
): Promise<{ rows: ProviderTemplatesTable[]; total: number }> {
  const rows = await ex
    .selectFrom('provider_templates')
    .selectAll()
    .where('app_id', '=', appId)
    .orderBy('id')
    .limit(page.limit)
    .offset(page.offset)
    .execute();
  const count = await ex
    .selectFrom('provider_templates')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('app_id', '=', appId)
    .executeTakeFirst();
  return { rows, total: Number(count?.n ?? 0) };
}

/** Deletes a custom template; returns whether a row was removed. */
export async function deleteTemplate(ex: Executor, appId: string, id: string): Promise<boolean> {
  const result = await ex
    .deleteFrom('provider_templates')
    .where('app_id', '=', appId)
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}
