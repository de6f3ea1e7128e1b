/**
 * The one table of gradient rules (like PyTorch's derivatives.yaml): op type → rule. Each rule group lives in
 * its own file; see ruleTypes.ts for the contract a rule follows.
 */
import { GradRule } from './ruleTypes';
import { convRules } from './convRules';
import { poolRules } from './poolRules';
import { elementwiseRules } from './elementwiseRules';
import { layoutRules } from './layoutRules';
import { linearRules } from './linearRules';
import { normRules } from './normRules';
import { reduceRules } from './reduceRules';
import { mathRules } from './mathRules';
import { indexRules } from './indexRules';

export type { GradRule } from './ruleTypes';

export const gradRules: Readonly<Record<string, GradRule>> = Object.freeze({
  ...convRules,
  ...poolRules,
  ...elementwiseRules,
  ...layoutRules,
  ...linearRules,
  ...normRules,
  ...reduceRules,
  ...mathRules,
  ...indexRules,
});

export function hasGradRule(opType: string): boolean {
  return Object.prototype.hasOwnProperty.call(gradRules, opType);
}
