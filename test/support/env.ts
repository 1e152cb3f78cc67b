/** The environment for a child process of a test or benchmark: none of the caller's Orion settings, then `extra`. */
export const cleanEnv = (extra: Record<string, string>): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const key of Object.keys(env)) if (key.startsWith("ORION_")) delete env[key]
  return { ...env, ...extra }
}
