/**
 * No credentials or endpoints from the machine may leak into the tests: the SDK would pick up
 * GOOGLE_APPLICATION_CREDENTIALS or STORAGE_EMULATOR_HOST by itself.
 */
export const LEAKY_ENV = /^(GOOGLE_|GCLOUD_|CLOUDSDK_|STORAGE_EMULATOR_HOST$|AWS_|AZURE_)/;

for (const name of Object.keys(process.env)) if (LEAKY_ENV.test(name)) delete process.env[name];
