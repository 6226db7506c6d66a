/** One line of env or dotenv output: the Vault key it came from, its name and its text. */
export interface EnvVariable {
  key: string
  name: string
  value: string
}
