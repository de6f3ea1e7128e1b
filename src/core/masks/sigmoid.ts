/**
 * σ(z) = 1 / (1 + e^−z) for z ≥ 0, from a table with linear interpolation.
 *
 * Why not Math.exp: the soft terms need one sigmoid per kept weight and axis (tens of millions for a ResNet-50),
 * and V8's Math.exp costs ~15 ns, which alone would be several times the whole mask budget. The table is exact at
 * its nodes and the interpolation error is ≤ h²/8·max|σ''| ≈ 1.2e-8 for h = 1/1024: below half an fp32 ulp of
 * values in [0.5, 1] (3e-8), i.e. far inside the spec's 1e-5 tolerance and smaller than the reference's own
 * float32 rounding. Beyond z = 20, σ(z) > 1 − 2.1e-9, which rounds to 1 in fp32, so the table stops there.
 *
 * Hot loops inline the lookup using the exported constants (see `softLists.ts`); `sigmoidNonNegative` is the
 * same arithmetic as a function, for the cold paths and the tests.
 */

/** Table nodes per unit of z. */
export const SIGMOID_STEPS = 1024;
/** Last table index; z ≥ SIGMOID_LAST / SIGMOID_STEPS reads the flat tail. */
export const SIGMOID_LAST = 20 * SIGMOID_STEPS;

/** σ(j / SIGMOID_STEPS) for j = 0..SIGMOID_LAST, plus one repeated tail entry so index LAST+1 is valid. */
export const SIGMOID_TABLE: Float64Array = (() => {
  const t = new Float64Array(SIGMOID_LAST + 2);
  for (let j = 0; j <= SIGMOID_LAST; j++) t[j] = 1 / (1 + Math.exp(-j / SIGMOID_STEPS));
  t[SIGMOID_LAST + 1] = t[SIGMOID_LAST];
  return t;
})();

/**
 * σ(z) for z ≥ 0 (the soft terms only evaluate kept weights, whose |w| − thr ≥ 0). `z` is clamped into the table,
 * so a huge z gives σ(20) and a negative z is a caller bug that gives σ(0) = 0.5 rather than garbage.
 */
export function sigmoidNonNegative(z: number): number {
  let t = z * SIGMOID_STEPS;
  if (!(t > 0)) t = 0;
  if (t > SIGMOID_LAST) t = SIGMOID_LAST;
  const j = t | 0;
  const f = t - j;
  const a = SIGMOID_TABLE[j];
  return a + f * (SIGMOID_TABLE[j + 1] - a);
}
