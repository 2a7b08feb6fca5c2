// The worker for what the app publishes: `npx nsqworker --topic signups --channel welcome`.
import { defineWorker } from 'nsqworker';

export default defineWorker({
  tasks: {
    async send(message, context) {
      const { email, kind } = message.json();
      context.log.info({ email, kind }, `${kind} email sent`);
    },
  },
});
