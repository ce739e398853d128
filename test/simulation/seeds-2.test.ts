// Part 2 of the CI simulation seeds (seeds.ts says why they are split and how to replay one).
import { describeSeeds } from "./seeds.js";

describeSeeds(2);
