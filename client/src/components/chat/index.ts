/** The call page's chat: `const chat = useChat(client)`, then <ChatPanel chat={chat} /> and <ChatToggle chat={chat} />. */
export { ChatPanel, ChatToggle } from './ChatPanel.tsx';
export { useChat, type ChatController } from './useChat.ts';
