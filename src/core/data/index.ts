/** Data sets for fine-tuning and evaluation, and the helpers to shuffle, split, batch and validate them. */
export { Batch, Dataset, sampleSize } from './dataset';
export { Normalization, IDENTITY_NORMALIZATION, UNIT_NORMALIZATION, parseNormalization, formatNormalization, PREPROCESSING_PRESETS, PreprocessingPreset, findPreset, resolveNormalize, describeNormalize } from './normalize';
export { Rng, mulberry32, deriveSeed, shuffleInPlace, shuffledIndices } from './random';
export { gaussianFill } from './gaussian';
export { EpochPlanOptions, batchesPerEpoch, chunkIndices, epochBatches, readBatches } from './batches';
export { SplitOptions, Split, trainValSplit, SubsetDataset } from './split';
export { checkCompatible } from './validate';
export { NpyDataset, NpyDatasetOptions, NpyLayout, resolveLayout } from './npy-dataset';
export { ImageFolderDataset, ImageFolderOptions, ImageSample, scanImageFolder } from './image-folder';
export { MnistDemoDataset, MnistDemoOptions, MNIST_NORMALIZATION, MNIST_TOTAL, loadMnistDigits } from './mnist-demo';
export { openData, ModelIo, OpenDataOptions, OpenedData } from './open';
