/** Where a disk queue and the files beside it report what they find and what fails (a pino logger fits). */
export interface DiskQueueLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}
