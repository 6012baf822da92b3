// The four registries, filled by importing each domain's side-effect index. Listing them loads every
// registered module (scans, families, heads, datasets).
export async function allRegistries(): Promise<Record<string, string[]>> {
  const [{ scans }, { backbones }, { heads }, { datasets }] = await Promise.all([
    import('../scans/index.ts'),
    import('../backbones/index.ts'),
    import('../heads/index.ts'),
    import('../datasets/index.ts'),
  ]);
  return { scans: scans.names(), backbones: backbones.names(), heads: heads.names(), datasets: datasets.names() };
}
