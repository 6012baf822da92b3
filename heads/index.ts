// Side-effect imports: every head file registers itself.
import './yolo/detect.ts';
import './fpn.ts';
import './mask_rcnn.ts';
import './upernet.ts';
export { heads } from './registry.ts';
