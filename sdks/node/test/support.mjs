// What the live tests need: a server and one organization's keys, from the environment
// (tests/sdk/test_other_sdks.py in the main suite sets them for a server it starts).
export const live = {
  baseURL: process.env.CYBERVAULT_BASE_URL,
  liveKey: process.env.CYBERVAULT_API_KEY,
  testKey: process.env.CYBERVAULT_TEST_API_KEY,
};
export const skipLive = !(live.baseURL && live.liveKey && live.testKey)
  ? "set CYBERVAULT_BASE_URL, CYBERVAULT_API_KEY and CYBERVAULT_TEST_API_KEY to run the live tests"
  : false;
