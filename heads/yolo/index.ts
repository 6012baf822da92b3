// The YOLO API in one place (exported from the package root as `yolo`): the Mamba-YOLO model, its loss,
// assigner and NMS, validation, training, prediction and weight import.
export { MambaYOLO, MAMBA_YOLO_LAYERS, MAMBA_YOLO_SCALES, MAMBA_YOLO_DEFAULTS, isMambaYolo, type MambaYoloConfig } from '../../backbones/mamba-yolo.ts';
export { readYoloWeights, readTorchYoloWeights, ULTRALYTICS_ALLOW_CLASSES, type YoloWeights } from '../../backbones/mamba-yolo-import.ts';
export { Detect, DFL, REG_MAX } from './detect.ts';
export { bboxIou, dist2bbox, bbox2dist, xywh2xyxy, makeAnchors, stopGradient } from './boxes.ts';
export { assign, assignNoGrad, YOLOV8_ASSIGNER, type AssignerOptions, type Assignment } from './assigner.ts';
export { V8DetectionLoss, dflLoss, packTargets, YOLOV8_GAINS, type LossGains, type FlatTargets } from './loss.ts';
export { nms, nonMaxSuppression, toSourceBoxes, NMS_VAL, NMS_PREDICT, type NmsOptions, type Detections } from './nms.ts';
export { predictFile, drawDetections, letterboxFile, type Detection, type ImagePrediction } from './predict.ts';
export { trainYolo, yoloFitness, type YoloTrainResult, type YoloTrainOptions } from '../../train/yolo/trainer.ts';
export { defaultYoloConfig, yoloConfigFrom, YOLO_TRAIN_SCHEMA, type YoloTrainConfig } from '../../train/yolo/config.ts';
export { validateYolo, type YoloValResult } from '../../train/yolo/validate.ts';
